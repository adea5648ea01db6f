//! The actions a client can take, each with its arguments and an operation id.
//!
//! Owns: which operations exist, their arguments, and the named parameters an
//! implementation's SQL may use for each. Must not know: SQL text, sessions,
//! how operations are scheduled.

use crate::world::{BRANCH, InvitationId, PROJECT, TENANCY, TeamId, TokenId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// The position of an operation in its case; also its session's
/// `application_name` (`op1`, `op2`, …), so every tombstone it writes is
/// attributable to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OperationId(pub u16);

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op{}", self.0)
    }
}

/// The kinds of operation, named as in implementation files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationKind {
    SignIn,
    SignOut,
    DeleteSession,
    ChangePassword,
    ChangePasswordAdmin,
    DeleteUser,
    RevokeInvitation,
    DeleteTeam,
}

impl OperationKind {
    pub const ALL: [OperationKind; 8] = [
        OperationKind::SignIn,
        OperationKind::SignOut,
        OperationKind::DeleteSession,
        OperationKind::ChangePassword,
        OperationKind::ChangePasswordAdmin,
        OperationKind::DeleteUser,
        OperationKind::RevokeInvitation,
        OperationKind::DeleteTeam,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OperationKind::SignIn => "sign-in",
            OperationKind::SignOut => "sign-out",
            OperationKind::DeleteSession => "delete-session",
            OperationKind::ChangePassword => "change-password",
            OperationKind::ChangePasswordAdmin => "change-password-admin",
            OperationKind::DeleteUser => "delete-user",
            OperationKind::RevokeInvitation => "revoke-invitation",
            OperationKind::DeleteTeam => "delete-team",
        }
    }

    pub fn from_name(name: &str) -> Option<OperationKind> {
        OperationKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The parameters this kind of operation supplies to its SQL.
    pub fn parameters(self) -> &'static [Parameter] {
        use Parameter::*;
        match self {
            OperationKind::SignIn => &[Tenancy, User, Token],
            OperationKind::SignOut => &[Tenancy, User, Token],
            OperationKind::DeleteSession => &[Tenancy, User, Token, CurrentToken],
            OperationKind::ChangePassword => &[Tenancy, User, CurrentToken],
            OperationKind::ChangePasswordAdmin => &[Tenancy, User],
            OperationKind::DeleteUser => &[Tenancy, User],
            OperationKind::RevokeInvitation => &[Tenancy, Project, Branch, Team, Invitation],
            OperationKind::DeleteTeam => &[Tenancy, Project, Branch, Team],
        }
    }
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A named parameter, written `:name` in an implementation's SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Parameter {
    Tenancy,
    Project,
    Branch,
    User,
    Token,
    CurrentToken,
    Team,
    Invitation,
}

impl Parameter {
    pub const ALL: [Parameter; 8] = [
        Parameter::Tenancy,
        Parameter::Project,
        Parameter::Branch,
        Parameter::User,
        Parameter::Token,
        Parameter::CurrentToken,
        Parameter::Team,
        Parameter::Invitation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Parameter::Tenancy => "tenancy",
            Parameter::Project => "project",
            Parameter::Branch => "branch",
            Parameter::User => "user",
            Parameter::Token => "token",
            Parameter::CurrentToken => "current_token",
            Parameter::Team => "team",
            Parameter::Invitation => "invitation",
        }
    }

    pub fn from_name(name: &str) -> Option<Parameter> {
        Parameter::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The SQL type the placeholder is cast to, so PostgreSQL never has to
    /// guess (it cannot inside `jsonb_build_object`).
    pub fn sql_type(self) -> &'static str {
        match self {
            Parameter::Project | Parameter::Branch => "text",
            _ => "uuid",
        }
    }
}

/// A parameter's value, bound as text and cast in SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Uuid(Uuid),
    Text(&'static str),
}

impl Value {
    pub fn as_text(&self) -> String {
        match self {
            Value::Uuid(u) => u.to_string(),
            Value::Text(t) => (*t).to_string(),
        }
    }
}

/// What a client asks for, with its arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    /// Creates `token` for `user`.
    SignIn {
        user: UserId,
        token: TokenId,
    },
    /// The holder of `token` signs out (`DELETE /auth/sessions/current`).
    SignOut {
        user: UserId,
        token: TokenId,
    },
    /// The holder of `current` deletes another of its sessions by id.
    DeleteSession {
        user: UserId,
        token: TokenId,
        current: TokenId,
    },
    /// The user changes its own password: all its tokens but `current` go.
    ChangePassword {
        user: UserId,
        current: TokenId,
    },
    /// An admin sets the user's password: all its tokens go.
    ChangePasswordAdmin {
        user: UserId,
    },
    DeleteUser {
        user: UserId,
    },
    RevokeInvitation {
        team: TeamId,
        invitation: InvitationId,
    },
    DeleteTeam {
        team: TeamId,
    },
}

impl Action {
    pub fn kind(&self) -> OperationKind {
        match self {
            Action::SignIn { .. } => OperationKind::SignIn,
            Action::SignOut { .. } => OperationKind::SignOut,
            Action::DeleteSession { .. } => OperationKind::DeleteSession,
            Action::ChangePassword { .. } => OperationKind::ChangePassword,
            Action::ChangePasswordAdmin { .. } => OperationKind::ChangePasswordAdmin,
            Action::DeleteUser { .. } => OperationKind::DeleteUser,
            Action::RevokeInvitation { .. } => OperationKind::RevokeInvitation,
            Action::DeleteTeam { .. } => OperationKind::DeleteTeam,
        }
    }

    /// The value of `parameter` for this action; `None` where the action has
    /// no such argument (the implementation loader rejects such SQL).
    pub fn value(&self, parameter: Parameter) -> Option<Value> {
        use Parameter as P;
        let uuid = |u: Uuid| Some(Value::Uuid(u));
        match (self, parameter) {
            (_, P::Tenancy) => uuid(TENANCY),
            (_, P::Project) => Some(Value::Text(PROJECT)),
            (_, P::Branch) => Some(Value::Text(BRANCH)),
            (
                Action::SignIn { user, .. }
                | Action::SignOut { user, .. }
                | Action::DeleteSession { user, .. }
                | Action::ChangePassword { user, .. }
                | Action::ChangePasswordAdmin { user }
                | Action::DeleteUser { user },
                P::User,
            ) => uuid(user.uuid()),
            (
                Action::SignIn { token, .. }
                | Action::SignOut { token, .. }
                | Action::DeleteSession { token, .. },
                P::Token,
            ) => uuid(token.uuid()),
            (
                Action::DeleteSession { current, .. } | Action::ChangePassword { current, .. },
                P::CurrentToken,
            ) => uuid(current.uuid()),
            (Action::RevokeInvitation { team, .. } | Action::DeleteTeam { team }, P::Team) => {
                uuid(team.uuid())
            }
            (Action::RevokeInvitation { invitation, .. }, P::Invitation) => uuid(invitation.uuid()),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::SignIn { user, token } => write!(f, "sign-in {user} as {token}"),
            Action::SignOut { user, token } => write!(f, "sign-out {user} from {token}"),
            Action::DeleteSession {
                user,
                token,
                current,
            } => {
                write!(f, "delete-session {user} {token} (current {current})")
            }
            Action::ChangePassword { user, current } => {
                write!(f, "change-password {user} (keeps {current})")
            }
            Action::ChangePasswordAdmin { user } => write!(f, "change-password-admin {user}"),
            Action::DeleteUser { user } => write!(f, "delete-user {user}"),
            Action::RevokeInvitation { team, invitation } => {
                write!(f, "revoke-invitation {invitation} of {team}")
            }
            Action::DeleteTeam { team } => write!(f, "delete-team {team}"),
        }
    }
}

/// One operation of a case: an action and the id its tombstones carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub id: OperationId,
    pub action: Action,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.id, self.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_parameter_has_a_value() {
        let actions = [
            Action::SignIn {
                user: UserId(1),
                token: TokenId(9),
            },
            Action::SignOut {
                user: UserId(1),
                token: TokenId(1),
            },
            Action::DeleteSession {
                user: UserId(1),
                token: TokenId(1),
                current: TokenId(2),
            },
            Action::ChangePassword {
                user: UserId(1),
                current: TokenId(1),
            },
            Action::ChangePasswordAdmin { user: UserId(1) },
            Action::DeleteUser { user: UserId(1) },
            Action::RevokeInvitation {
                team: TeamId(1),
                invitation: InvitationId(1),
            },
            Action::DeleteTeam { team: TeamId(1) },
        ];
        for action in actions {
            for p in Parameter::ALL {
                let declared = action.kind().parameters().contains(&p);
                // Tenancy, project and branch are the same for every action;
                // the rest exist exactly where the action declares them.
                let constant = matches!(
                    p,
                    Parameter::Tenancy | Parameter::Project | Parameter::Branch
                );
                if declared || !constant {
                    assert_eq!(declared, action.value(p).is_some(), "{action} {p:?}");
                }
            }
        }
    }
}

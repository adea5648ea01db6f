//! The world a case starts from: users, their refresh tokens, teams, members and
//! invitations, as plain data.
//!
//! Owns: the small integer identities of every row and the UUIDs derived from
//! them. Must not know: SQL, sessions, schedules. Identities are small integers
//! so that stories read "token t2 of user u1"; UUIDs are derived from them
//! (never random) so that two runs of one case write the same rows.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// The one tenancy every case lives in; Stack Auth keys every table by it.
pub const TENANCY: Uuid = Uuid::from_u128(0x7e4a_0000_0000_4000_8000_0000_0000_0001);
/// `VerificationCode` is keyed by project and branch instead of tenancy.
pub const PROJECT: &str = "harness-project";
pub const BRANCH: &str = "main";

macro_rules! identity {
    ($name:ident, $prefix:literal, $kind:literal) => {
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u16);

        impl $name {
            /// The row's UUID, readable in a database dump: the kind in the
            /// second group, the number last (`00000000-0002-4000-8000-000000000005`
            /// is token t5); version 4, variant 1, like a random one.
            pub fn uuid(self) -> Uuid {
                let kind = ($kind as u128) << 80;
                Uuid::from_u128(kind | (0x4000u128 << 64) | (0x8000u128 << 48) | self.0 as u128)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

identity!(UserId, "u", 1u16);
identity!(TokenId, "t", 2u16);
identity!(TeamId, "team", 3u16);
identity!(InvitationId, "inv", 4u16);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: UserId,
    #[serde(default)]
    pub tokens: Vec<TokenId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub id: TeamId,
    #[serde(default)]
    pub members: Vec<UserId>,
    #[serde(default)]
    pub invitations: Vec<InvitationId>,
}

/// The starting state of one case. Token and invitation ids are unique across
/// the whole world; a sign-in in the case creates a token id beyond them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub teams: Vec<Team>,
}

/// A row the harness tracks, named the way stories and verdicts print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RowKey {
    User(UserId),
    Token(TokenId),
    Team(TeamId),
    Member(TeamId, UserId),
    Invitation(InvitationId),
}

impl RowKey {
    /// The source table, spelled as in the schema and in `DeletedRow.tableName`.
    pub fn table(self) -> &'static str {
        match self {
            RowKey::User(_) => "ProjectUser",
            RowKey::Token(_) => "ProjectUserRefreshToken",
            RowKey::Team(_) => "Team",
            RowKey::Member(..) => "TeamMember",
            RowKey::Invitation(_) => "VerificationCode",
        }
    }
}

impl fmt::Display for RowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowKey::User(u) => write!(f, "user {u}"),
            RowKey::Token(t) => write!(f, "token {t}"),
            RowKey::Team(t) => write!(f, "{t}"),
            RowKey::Member(t, u) => write!(f, "member {u} of {t}"),
            RowKey::Invitation(i) => write!(f, "invitation {i}"),
        }
    }
}

impl World {
    /// One user with `tokens` refresh tokens: the world of the #1466 story.
    pub fn one_user(tokens: u16) -> World {
        World {
            users: vec![User {
                id: UserId(1),
                tokens: (1..=tokens).map(TokenId).collect(),
            }],
            teams: Vec::new(),
        }
    }

    /// u1 [t1 t2], u2 [t3]; team1 members [u1 u2] invitations [inv1]: the
    /// world of `make run`'s one-operation table and of many tests.
    pub fn standard() -> World {
        World {
            users: vec![
                User {
                    id: UserId(1),
                    tokens: vec![TokenId(1), TokenId(2)],
                },
                User {
                    id: UserId(2),
                    tokens: vec![TokenId(3)],
                },
            ],
            teams: vec![Team {
                id: TeamId(1),
                members: vec![UserId(1), UserId(2)],
                invitations: vec![InvitationId(1)],
            }],
        }
    }

    pub fn user(&self, id: UserId) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn owner_of(&self, token: TokenId) -> Option<UserId> {
        self.users
            .iter()
            .find(|u| u.tokens.contains(&token))
            .map(|u| u.id)
    }

    /// Every row the world starts with, in a stable order.
    pub fn rows(&self) -> Vec<RowKey> {
        let mut rows = Vec::new();
        for user in &self.users {
            rows.push(RowKey::User(user.id));
            rows.extend(user.tokens.iter().map(|t| RowKey::Token(*t)));
        }
        for team in &self.teams {
            rows.push(RowKey::Team(team.id));
            rows.extend(team.members.iter().map(|u| RowKey::Member(team.id, *u)));
            rows.extend(team.invitations.iter().map(|i| RowKey::Invitation(*i)));
        }
        rows.sort();
        rows
    }

    /// The first token id no row of this world uses, for sign-ins.
    pub fn next_token(&self) -> TokenId {
        let top = self
            .users
            .iter()
            .flat_map(|u| u.tokens.iter())
            .map(|t| t.0)
            .max();
        TokenId(top.unwrap_or(0) + 1)
    }

    /// Checks the world is well formed: unique ids, members that exist.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for row in self.rows() {
            if !seen.insert(row) {
                return Err(format!("{row} appears twice"));
            }
        }
        for team in &self.teams {
            if let Some(u) = team.members.iter().find(|u| self.user(**u).is_none()) {
                return Err(format!("{} has member {u}, who is not a user", team.id));
            }
        }
        Ok(())
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for user in &self.users {
            let tokens: Vec<String> = user.tokens.iter().map(ToString::to_string).collect();
            parts.push(format!("{} [{}]", user.id, tokens.join(" ")));
        }
        for team in &self.teams {
            let members: Vec<String> = team.members.iter().map(ToString::to_string).collect();
            let invitations: Vec<String> =
                team.invitations.iter().map(ToString::to_string).collect();
            parts.push(format!(
                "{} members [{}] invitations [{}]",
                team.id,
                members.join(" "),
                invitations.join(" ")
            ));
        }
        write!(f, "{}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_per_kind_and_number() {
        assert_ne!(UserId(1).uuid(), TokenId(1).uuid());
        assert_ne!(TokenId(1).uuid(), TokenId(2).uuid());
        assert_eq!(TokenId(2).uuid().get_version_num(), 4);
    }

    #[test]
    fn validate_rejects_duplicate_tokens() {
        let mut world = World::one_user(1);
        world.users.push(User {
            id: UserId(2),
            tokens: vec![TokenId(1)],
        });
        assert_eq!(world.validate().unwrap_err(), "token t1 appears twice");
    }
}

//! Sequential reference semantics: what a correct server answers to each
//! action, one action at a time, and which rows are live afterwards.
//!
//! Owns: the *intended* behaviour of every operation, in plain Rust over the
//! world's identities. Must not know: SQL, sessions, schedules, or any
//! implementation's quirks. Stack Auth's team delete leaving its invitations
//! live (anomaly D) is a finding the oracles report, never a rule here.

use crate::operation::Action;
use crate::world::{InvitationId, RowKey, TeamId, TokenId, UserId, World};
use std::collections::{BTreeMap, BTreeSet};

/// The request succeeded.
pub const OK: u16 = 200;
/// Deleting the session you are signed in with is refused.
pub const BAD_REQUEST: u16 = 400;
/// Signing out with a token that no longer exists.
pub const UNAUTHORIZED: u16 = 401;
/// The user, session, team or invitation named does not exist.
pub const NOT_FOUND: u16 = 404;

/// The rows a correct server holds after some sequence of actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelState {
    live: BTreeSet<RowKey>,
    /// Every token ever seen and its user. Entries outlive their rows: whether
    /// a token exists is `live`'s answer alone.
    token_owners: BTreeMap<TokenId, UserId>,
    /// Every invitation ever seen, per team; like `token_owners`, a relation,
    /// not a statement that the rows exist.
    invitations: BTreeMap<TeamId, BTreeSet<InvitationId>>,
}

impl ModelState {
    pub fn from_world(world: &World) -> ModelState {
        let mut token_owners = BTreeMap::new();
        for user in &world.users {
            for token in &user.tokens {
                token_owners.insert(*token, user.id);
            }
        }
        let invitations = world
            .teams
            .iter()
            .map(|team| (team.id, team.invitations.iter().copied().collect()))
            .collect();
        ModelState {
            live: world.rows().into_iter().collect(),
            token_owners,
            invitations,
        }
    }

    /// The rows that exist now.
    pub fn live(&self) -> &BTreeSet<RowKey> {
        &self.live
    }

    /// Runs `action` as a correct server would and returns the status its
    /// client sees.
    pub fn apply(&mut self, action: &Action) -> u16 {
        match *action {
            Action::SignIn { user, token } => self.sign_in(user, token),
            Action::SignOut { token, .. } => {
                // Sign-out names the token alone (`DELETE … WHERE id = :token`):
                // whoever holds it may end it.
                if self.live.remove(&RowKey::Token(token)) {
                    OK
                } else {
                    UNAUTHORIZED
                }
            }
            Action::DeleteSession {
                user,
                token,
                current,
            } => self.delete_session(user, token, current),
            Action::ChangePassword { user, current } => self.revoke_tokens(user, Some(current)),
            Action::ChangePasswordAdmin { user } => self.revoke_tokens(user, None),
            Action::DeleteUser { user } => self.delete_user(user),
            Action::RevokeInvitation { team, invitation } => {
                let of_team = self
                    .invitations
                    .get(&team)
                    .is_some_and(|i| i.contains(&invitation));
                if of_team && self.live.remove(&RowKey::Invitation(invitation)) {
                    OK
                } else {
                    NOT_FOUND
                }
            }
            Action::DeleteTeam { team } => self.delete_team(team),
        }
    }

    /// Refresh tokens have no foreign key to their user, so a sign-in for a
    /// deleted user still creates its token: the real schema allows it.
    fn sign_in(&mut self, user: UserId, token: TokenId) -> u16 {
        // Cases give every sign-in a token id no other row uses
        // (`World::next_token`), so the insert never collides.
        self.token_owners.insert(token, user);
        self.live.insert(RowKey::Token(token));
        OK
    }

    fn delete_session(&mut self, user: UserId, token: TokenId, current: TokenId) -> u16 {
        if token == current {
            return BAD_REQUEST;
        }
        let owned = self.token_owners.get(&token) == Some(&user);
        if owned && self.live.remove(&RowKey::Token(token)) {
            OK
        } else {
            NOT_FOUND
        }
    }

    /// A password change ends every session of the user but `keep`.
    fn revoke_tokens(&mut self, user: UserId, keep: Option<TokenId>) -> u16 {
        if !self.live.contains(&RowKey::User(user)) {
            return NOT_FOUND;
        }
        self.remove_tokens_of(user, keep);
        OK
    }

    fn delete_user(&mut self, user: UserId) -> u16 {
        if !self.live.remove(&RowKey::User(user)) {
            return NOT_FOUND;
        }
        self.remove_tokens_of(user, None);
        self.live
            .retain(|row| !matches!(row, RowKey::Member(_, member) if *member == user));
        OK
    }

    /// The intended team delete takes the team, its members and its
    /// invitations; an invitation left behind is anomaly D.
    fn delete_team(&mut self, team: TeamId) -> u16 {
        if !self.live.remove(&RowKey::Team(team)) {
            return NOT_FOUND;
        }
        let invitations = self.invitations.get(&team).cloned().unwrap_or_default();
        self.live.retain(|row| match row {
            RowKey::Member(of, _) => *of != team,
            RowKey::Invitation(invitation) => !invitations.contains(invitation),
            _ => true,
        });
        OK
    }

    fn remove_tokens_of(&mut self, user: UserId, keep: Option<TokenId>) {
        let owners = &self.token_owners;
        self.live.retain(|row| match row {
            RowKey::Token(token) => Some(*token) == keep || owners.get(token) != Some(&user),
            _ => true,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::standard()
    }

    fn gone(before: &World, after: &ModelState) -> Vec<String> {
        let rows = before.rows().into_iter();
        rows.filter(|r| !after.live().contains(r))
            .map(|r| r.to_string())
            .collect()
    }

    #[test]
    fn sign_out_twice_is_200_then_401() {
        let mut model = ModelState::from_world(&world());
        let sign_out = Action::SignOut {
            user: UserId(1),
            token: TokenId(1),
        };
        assert_eq!(model.apply(&sign_out), OK);
        assert_eq!(model.apply(&sign_out), UNAUTHORIZED);
        assert_eq!(gone(&world(), &model), ["token t1"]);
    }

    #[test]
    fn sign_in_for_a_deleted_user_still_creates_the_token() {
        let mut model = ModelState::from_world(&world());
        assert_eq!(model.apply(&Action::DeleteUser { user: UserId(2) }), OK);
        let sign_in = Action::SignIn {
            user: UserId(2),
            token: TokenId(4),
        };
        assert_eq!(model.apply(&sign_in), OK);
        assert!(model.live().contains(&RowKey::Token(TokenId(4))));
        // The user is gone, so its password cannot change: the token stays.
        let change = Action::ChangePasswordAdmin { user: UserId(2) };
        assert_eq!(model.apply(&change), NOT_FOUND);
        assert!(model.live().contains(&RowKey::Token(TokenId(4))));
    }

    #[test]
    fn delete_session_refuses_the_current_one_and_unknown_ones() {
        let mut model = ModelState::from_world(&world());
        let session = |token, current| Action::DeleteSession {
            user: UserId(1),
            token: TokenId(token),
            current: TokenId(current),
        };
        assert_eq!(model.apply(&session(1, 1)), BAD_REQUEST);
        assert_eq!(model.apply(&session(3, 1)), NOT_FOUND, "t3 is u2's");
        assert_eq!(model.apply(&session(2, 1)), OK);
        assert_eq!(model.apply(&session(2, 1)), NOT_FOUND);
        assert_eq!(gone(&world(), &model), ["token t2"]);
    }

    #[test]
    fn password_changes_keep_only_the_current_token() {
        let mut model = ModelState::from_world(&world());
        let change = Action::ChangePassword {
            user: UserId(1),
            current: TokenId(1),
        };
        assert_eq!(model.apply(&change), OK);
        assert_eq!(gone(&world(), &model), ["token t2"]);
        let admin = Action::ChangePasswordAdmin { user: UserId(1) };
        assert_eq!(model.apply(&admin), OK);
        assert_eq!(gone(&world(), &model), ["token t1", "token t2"]);
        let nobody = Action::ChangePasswordAdmin { user: UserId(9) };
        assert_eq!(model.apply(&nobody), NOT_FOUND);
    }

    #[test]
    fn delete_user_takes_its_tokens_and_memberships() {
        let mut model = ModelState::from_world(&world());
        assert_eq!(model.apply(&Action::DeleteUser { user: UserId(1) }), OK);
        assert_eq!(
            gone(&world(), &model),
            ["user u1", "token t1", "token t2", "member u1 of team1"]
        );
        assert_eq!(
            model.apply(&Action::DeleteUser { user: UserId(1) }),
            NOT_FOUND
        );
    }

    #[test]
    fn delete_team_takes_members_and_invitations() {
        let mut model = ModelState::from_world(&world());
        assert_eq!(model.apply(&Action::DeleteTeam { team: TeamId(1) }), OK);
        assert_eq!(
            gone(&world(), &model),
            [
                "team1",
                "member u1 of team1",
                "member u2 of team1",
                "invitation inv1"
            ]
        );
        assert_eq!(
            model.apply(&Action::DeleteTeam { team: TeamId(1) }),
            NOT_FOUND
        );
    }

    #[test]
    fn revoking_twice_or_from_another_team_is_404() {
        let mut model = ModelState::from_world(&world());
        let revoke = |team| Action::RevokeInvitation {
            team: TeamId(team),
            invitation: InvitationId(1),
        };
        assert_eq!(model.apply(&revoke(2)), NOT_FOUND);
        assert_eq!(model.apply(&revoke(1)), OK);
        assert_eq!(model.apply(&revoke(1)), NOT_FOUND);
        assert_eq!(gone(&world(), &model), ["invitation inv1"]);
    }
}

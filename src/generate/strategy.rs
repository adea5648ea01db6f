//! proptest strategies: worlds, concurrent operations and schedules.
//!
//! A generated value is a `CaseSeed` of small numbers that is resolved against
//! its own world, so every shrink (fewer users, fewer tokens, fewer
//! operations, smaller preferences) still names rows that exist or, on
//! purpose, ones that are gone. Shrinking preferences towards 0 removes
//! context switches (see `chooser::Preference`).

use crate::case::{Case, OPERATIONS_MAX};
use crate::operation::{Action, OperationKind};
use crate::world::{InvitationId, Team, TeamId, TokenId, User, UserId, World};
use proptest::prelude::*;

/// An operation before resolution: indexes into the world, taken modulo.
#[derive(Clone, Debug)]
pub enum OperationSeed {
    SignOut { user: u8, token: u8 },
    ChangePasswordAdmin { user: u8 },
    ChangePassword { user: u8, current: u8 },
    SignIn { user: u8 },
    DeleteSession { user: u8, token: u8, current: u8 },
    DeleteUser { user: u8 },
    RevokeInvitation { team: u8, invitation: u8 },
    DeleteTeam { team: u8 },
}

#[derive(Clone, Debug)]
pub struct CaseSeed {
    /// Tokens per user; the number of users is its length.
    pub tokens: Vec<u8>,
    /// Per team: which users are members (bit i = user i) and how many invitations.
    pub teams: Vec<(u8, u8)>,
    pub operations: Vec<OperationSeed>,
    pub preferences: Vec<u8>,
}

/// Bounds of generation, unit last.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub users_max: usize,
    pub tokens_per_user_max: u8,
    pub teams_max: usize,
    pub operations_min: usize,
    pub operations_max: usize,
    pub preferences_max: usize,
}

/// Bounds that cannot generate a case, named by field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BoundsError {
    #[error(
        "bounds: users_max must be 1 to {USERS_MAX}, not {0} (team membership is a bit per user in a u8)"
    )]
    Users(usize),
    #[error(
        "bounds: operations_min must be 1 to operations_max, and operations_max at most {OPERATIONS_MAX}; got {0}..={1}"
    )]
    Operations(usize, usize),
}

/// Team membership is drawn as one bit per user of a `u8`.
pub const USERS_MAX: usize = 8;

impl Bounds {
    /// Checks what generation relies on, so bad bounds are an error before
    /// anything runs rather than a panic inside proptest or the oracles.
    pub fn validate(&self) -> Result<(), BoundsError> {
        if self.users_max == 0 || self.users_max > USERS_MAX {
            return Err(BoundsError::Users(self.users_max));
        }
        let (min, max) = (self.operations_min, self.operations_max);
        if min == 0 || min > max || max > OPERATIONS_MAX {
            return Err(BoundsError::Operations(min, max));
        }
        Ok(())
    }
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            users_max: 3,
            tokens_per_user_max: 4,
            teams_max: 2,
            operations_min: 2,
            operations_max: 4,
            preferences_max: 24,
        }
    }
}

fn operation_seed(kinds: &[OperationKind]) -> BoxedStrategy<OperationSeed> {
    // Small indexes on purpose: bulk and single deletes on the same user and
    // token must be common, not lucky.
    let ix = || 0u8..3;
    let mut options: Vec<(u32, BoxedStrategy<OperationSeed>)> = Vec::new();
    for kind in kinds {
        let (weight, strategy) = match kind {
            OperationKind::SignOut => (
                5,
                (ix(), ix())
                    .prop_map(|(user, token)| OperationSeed::SignOut { user, token })
                    .boxed(),
            ),
            OperationKind::ChangePasswordAdmin => (
                4,
                ix().prop_map(|user| OperationSeed::ChangePasswordAdmin { user })
                    .boxed(),
            ),
            OperationKind::ChangePassword => (
                3,
                (ix(), ix())
                    .prop_map(|(user, current)| OperationSeed::ChangePassword { user, current })
                    .boxed(),
            ),
            OperationKind::SignIn => (
                3,
                ix().prop_map(|user| OperationSeed::SignIn { user }).boxed(),
            ),
            OperationKind::DeleteSession => (
                2,
                (ix(), ix(), ix())
                    .prop_map(|(user, token, current)| OperationSeed::DeleteSession {
                        user,
                        token,
                        current,
                    })
                    .boxed(),
            ),
            OperationKind::DeleteUser => (
                2,
                ix().prop_map(|user| OperationSeed::DeleteUser { user })
                    .boxed(),
            ),
            OperationKind::RevokeInvitation => (
                2,
                (ix(), ix())
                    .prop_map(|(team, invitation)| OperationSeed::RevokeInvitation {
                        team,
                        invitation,
                    })
                    .boxed(),
            ),
            OperationKind::DeleteTeam => (
                2,
                ix().prop_map(|team| OperationSeed::DeleteTeam { team })
                    .boxed(),
            ),
        };
        options.push((weight, strategy));
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}

/// Cases with operations drawn from `kinds` (the ones the implementation has).
pub fn case_seed(
    bounds: Bounds,
    kinds: &[OperationKind],
) -> Result<BoxedStrategy<CaseSeed>, BoundsError> {
    bounds.validate()?;
    Ok((
        proptest::collection::vec(0..=bounds.tokens_per_user_max, 1..=bounds.users_max),
        proptest::collection::vec((0u8..8, 0u8..3), 0..=bounds.teams_max),
        proptest::collection::vec(
            operation_seed(kinds),
            bounds.operations_min..=bounds.operations_max,
        ),
        proptest::collection::vec(0u8..4, 0..=bounds.preferences_max),
    )
        .prop_map(|(tokens, teams, operations, preferences)| CaseSeed {
            tokens,
            teams,
            operations,
            preferences,
        })
        .boxed())
}

impl CaseSeed {
    pub fn world(&self) -> World {
        let mut next_token = 0u16;
        let users = self
            .tokens
            .iter()
            .enumerate()
            .map(|(i, count)| User {
                id: UserId(i as u16 + 1),
                tokens: (0..*count)
                    .map(|_| {
                        next_token += 1;
                        TokenId(next_token)
                    })
                    .collect(),
            })
            .collect::<Vec<_>>();
        let mut next_invitation = 0u16;
        let teams = self
            .teams
            .iter()
            .enumerate()
            .map(|(i, (members, invitations))| Team {
                id: TeamId(i as u16 + 1),
                members: users
                    .iter()
                    .enumerate()
                    // Users past the eighth are never members (bit i = user i).
                    .filter(|(u, _)| {
                        u32::try_from(*u)
                            .ok()
                            .and_then(|u| u32::from(*members).checked_shr(u))
                            .is_some_and(|bits| bits & 1 != 0)
                    })
                    .map(|(_, u)| u.id)
                    .collect(),
                invitations: (0..*invitations)
                    .map(|_| {
                        next_invitation += 1;
                        InvitationId(next_invitation)
                    })
                    .collect(),
            })
            .collect();
        World { users, teams }
    }

    /// The case this seed describes, and the schedule preferences.
    pub fn resolve(&self) -> (Case, Vec<u8>) {
        let world = self.world();
        let mut fresh = world.next_token().0;
        let actions = self
            .operations
            .iter()
            .map(|seed| resolve_operation(&world, seed, &mut fresh))
            .collect();
        (Case::new(world, actions), self.preferences.clone())
    }
}

fn pick<T: Copy>(items: &[T], index: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[index as usize % items.len()])
}

/// A token of `user`, or (when it has none) one that never existed, so the
/// "already gone" paths get exercised too.
fn token_of(world: &World, user: UserId, index: u8, fresh: &mut u16) -> TokenId {
    let tokens = world
        .user(user)
        .map(|u| u.tokens.clone())
        .unwrap_or_default();
    pick(&tokens, index).unwrap_or_else(|| {
        *fresh += 1;
        TokenId(*fresh - 1)
    })
}

/// A token that exists at the start, with its owner: a client acting "as
/// itself" holds a live refresh token (the server authenticates it first).
fn held_token(world: &World, user: u8, index: u8) -> Option<(UserId, TokenId)> {
    let holders: Vec<&User> = world
        .users
        .iter()
        .filter(|u| !u.tokens.is_empty())
        .collect();
    let holder = holders.get(user as usize % holders.len().max(1))?;
    Some((holder.id, pick(&holder.tokens, index)?))
}

fn resolve_operation(world: &World, seed: &OperationSeed, fresh: &mut u16) -> Action {
    let users: Vec<UserId> = world.users.iter().map(|u| u.id).collect();
    let user = |i: u8| pick(&users, i).unwrap_or(UserId(1));
    let teams: Vec<TeamId> = world.teams.iter().map(|t| t.id).collect();
    let sign_in = |u: u8, fresh: &mut u16| {
        *fresh += 1;
        Action::SignIn {
            user: user(u),
            token: TokenId(*fresh - 1),
        }
    };
    match *seed {
        OperationSeed::SignIn { user: u } => sign_in(u, fresh),
        // Operations a client does with its own session need one: with no
        // token in the world they become the sign-in that would precede them.
        OperationSeed::SignOut { user: u, token } => match held_token(world, u, token) {
            Some((user, token)) => Action::SignOut { user, token },
            None => sign_in(u, fresh),
        },
        OperationSeed::DeleteSession {
            user: u,
            token,
            current,
        } => match held_token(world, u, current) {
            Some((user, current)) => Action::DeleteSession {
                user,
                token: token_of(world, user, token, fresh),
                current,
            },
            None => sign_in(u, fresh),
        },
        OperationSeed::ChangePassword { user: u, current } => match held_token(world, u, current) {
            Some((user, current)) => Action::ChangePassword { user, current },
            None => Action::ChangePasswordAdmin { user: user(u) },
        },
        OperationSeed::ChangePasswordAdmin { user: u } => {
            Action::ChangePasswordAdmin { user: user(u) }
        }
        OperationSeed::DeleteUser { user: u } => Action::DeleteUser { user: user(u) },
        // An admin revokes an invitation it was shown, so one that exists at
        // the start; with none in the world this becomes a team delete.
        OperationSeed::RevokeInvitation {
            team: t,
            invitation,
        } => {
            let all: Vec<(TeamId, InvitationId)> = world
                .teams
                .iter()
                .flat_map(|team| team.invitations.iter().map(|i| (team.id, *i)))
                .collect();
            match pick(&all, t.wrapping_add(invitation)) {
                Some((team, invitation)) => Action::RevokeInvitation { team, invitation },
                None => Action::DeleteTeam {
                    team: pick(&teams, t).unwrap_or(TeamId(1)),
                },
            }
        }
        OperationSeed::DeleteTeam { team: t } => Action::DeleteTeam {
            team: pick(&teams, t).unwrap_or(TeamId(1)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn every_resolved_case_is_valid() {
        let mut runner = TestRunner::deterministic();
        let strategy = case_seed(Bounds::default(), &OperationKind::ALL).unwrap();
        for _ in 0..500 {
            let seed = strategy.new_tree(&mut runner).unwrap().current();
            let (case, _) = seed.resolve();
            case.validate().unwrap();
            let mut ids: Vec<TokenId> = case
                .world
                .users
                .iter()
                .flat_map(|u| u.tokens.clone())
                .collect();
            ids.extend(case.operations.iter().filter_map(|o| match o.action {
                Action::SignIn { token, .. } => Some(token),
                _ => None,
            }));
            let unique: std::collections::BTreeSet<_> = ids.iter().collect();
            assert_eq!(unique.len(), ids.len(), "sign-ins reuse a token id: {case}");
        }
    }

    #[test]
    fn bounds_that_cannot_generate_are_a_typed_error() {
        let bounds = |users_max, operations_min, operations_max| Bounds {
            users_max,
            operations_min,
            operations_max,
            ..Bounds::default()
        };
        assert_eq!(Bounds::default().validate(), Ok(()));
        assert_eq!(bounds(8, 1, 8).validate(), Ok(()));
        assert_eq!(bounds(9, 2, 4).validate(), Err(BoundsError::Users(9)));
        assert_eq!(bounds(0, 2, 4).validate(), Err(BoundsError::Users(0)));
        assert_eq!(
            bounds(3, 2, 9).validate(),
            Err(BoundsError::Operations(2, 9))
        );
        assert_eq!(
            bounds(3, 5, 4).validate(),
            Err(BoundsError::Operations(5, 4))
        );
        let err = case_seed(bounds(9, 2, 4), &OperationKind::ALL).unwrap_err();
        assert!(err.to_string().starts_with("bounds: users_max"), "{err}");
    }
}

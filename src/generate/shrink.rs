//! Simplification passes after proptest's own shrinking: moves proptest
//! cannot make because they change several values at once (an operation and
//! its choices in the schedule, a sign-in and the world's tokens).

use super::strategy::{CaseSeed, OperationSeed};
use crate::schedule::{Schedule, SessionId};

impl CaseSeed {
    /// One step simpler in each way, biggest step first, each with the
    /// schedule carried over (an operation's choices go with it): without one
    /// operation, with a sign-in's token already in the world, with a plainer
    /// kind of operation, with one token, user or team fewer, with fewer
    /// context switches. Every candidate is smaller or plainer, so repeated
    /// simplification ends.
    pub fn simpler(&self, schedule: &Schedule) -> Vec<(CaseSeed, Schedule)> {
        let mut candidates = Vec::new();
        for i in 0..self.operations.len() {
            if self.operations.len() == 1 {
                break;
            }
            let mut candidate = self.clone();
            let removed = candidate.operations.remove(i);
            let without = without_session(schedule, i);
            if let OperationSeed::SignIn { user } = removed {
                let mut materialized = candidate.clone();
                let holder = user as usize % materialized.tokens.len().max(1);
                if let Some(tokens) = materialized.tokens.get_mut(holder) {
                    *tokens += 1;
                    candidates.push((materialized, without.clone()));
                }
            }
            candidates.push((candidate, without));
        }
        for (i, operation) in self.operations.iter().enumerate() {
            let plainer = match *operation {
                OperationSeed::ChangePassword { user, .. } | OperationSeed::DeleteUser { user } => {
                    Some(OperationSeed::ChangePasswordAdmin { user })
                }
                OperationSeed::DeleteSession { user, token, .. } => {
                    Some(OperationSeed::SignOut { user, token })
                }
                _ => None,
            };
            if let Some(plainer) = plainer {
                let mut candidate = self.clone();
                candidate.operations[i] = plainer;
                // A plainer operation may have a step fewer at its start (a
                // session delete's lookup): try its schedule without the
                // operation's first choice too.
                candidates.push((candidate.clone(), without_first_choice(schedule, i)));
                candidates.push((candidate, schedule.clone()));
            }
        }
        for i in 0..self.teams.len() {
            let mut candidate = self.clone();
            candidate.teams.remove(i);
            candidates.push((candidate, schedule.clone()));
        }
        candidates.extend(
            fewer_switches(schedule)
                .into_iter()
                .map(|s| (self.clone(), s)),
        );
        for i in 0..self.tokens.len() {
            if self.tokens[i] > 0 {
                let mut candidate = self.clone();
                candidate.tokens[i] -= 1;
                candidates.push((candidate, schedule.clone()));
            }
            if self.tokens.len() > 1 {
                let mut candidate = self.clone();
                candidate.tokens.remove(i);
                candidates.push((candidate, schedule.clone()));
            }
        }
        candidates
    }
}

/// The schedule without session `index`'s choices, later sessions renumbered.
fn without_session(schedule: &Schedule, index: usize) -> Schedule {
    let removed = SessionId::from_index(index);
    Schedule::new(
        schedule
            .choices
            .iter()
            .filter(|s| **s != removed)
            .map(|s| if *s > removed { SessionId(s.0 - 1) } else { *s })
            .collect(),
    )
}

/// The schedule with two neighbouring choices swapped, wherever that leaves
/// fewer context switches: a story with fewer interleavings to follow.
fn fewer_switches(schedule: &Schedule) -> Vec<Schedule> {
    let before = schedule.context_switches();
    (0..schedule.choices.len().saturating_sub(1))
        .filter(|&i| schedule.choices[i] != schedule.choices[i + 1])
        .map(|i| {
            let mut choices = schedule.choices.clone();
            choices.swap(i, i + 1);
            Schedule::new(choices)
        })
        .filter(|s| s.context_switches() < before)
        .collect()
}

/// The schedule without session `index`'s first choice.
fn without_first_choice(schedule: &Schedule, index: usize) -> Schedule {
    let session = SessionId::from_index(index);
    let mut choices = schedule.choices.clone();
    if let Some(first) = choices.iter().position(|s| *s == session) {
        choices.remove(first);
    }
    Schedule::new(choices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_candidates_only_ever_remove_context_switches() {
        let schedule = Schedule::parse("v1: 1 2 1 2").unwrap();
        let fewer: Vec<String> = fewer_switches(&schedule)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(fewer, vec!["v1: 2 1 1 2", "v1: 1 1 2 2", "v1: 1 2 2 1"]);
        assert!(fewer_switches(&Schedule::parse("v1: 1 1 2 2").unwrap()).is_empty());
    }
}

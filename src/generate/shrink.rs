//! Simplification passes after proptest's own shrinking: moves proptest
//! cannot make because they change several values at once (an operation and
//! its choices in the schedule, a sign-in and the world's tokens).

use super::strategy::CaseSeed;
use crate::schedule::{Schedule, SessionId};
use crate::system::Source;

impl CaseSeed {
    /// One step simpler in each way, biggest step first, each with the
    /// schedule carried over (an operation's choices go with it): without one
    /// operation, with the row it created already in the world, with a
    /// plainer kind of operation (the system's `plainer`), with fewer
    /// context switches, with a parent row's children gone and the next
    /// ones' moved up, with one row fewer. Every candidate is smaller or
    /// plainer, so repeated simplification ends.
    pub fn simpler(&self, schedule: &Schedule) -> Vec<(CaseSeed, Schedule)> {
        let mut candidates = Vec::new();
        let (case, _) = self.resolve();
        for i in 0..self.operations.len() {
            if self.operations.len() == 1 {
                break;
            }
            let mut candidate = self.clone();
            candidate.operations.remove(i);
            let without = without_session(schedule, i);
            if let Some(materialized) = self.with_created_rows(&case, i, &candidate) {
                candidates.push((materialized, without.clone()));
            }
            candidates.push((candidate, without));
        }
        let names: Vec<&String> = self.system.operations.keys().collect();
        for (i, operation) in self.operations.iter().enumerate() {
            let spec = &self.system.operations[names[operation.kind % names.len()]];
            let plainer = spec
                .plainer
                .as_ref()
                .and_then(|p| names.iter().position(|n| *n == p));
            if let Some(plainer) = plainer {
                let mut candidate = self.clone();
                candidate.operations[i].kind = plainer;
                // A plainer operation may have a step fewer at its start (a
                // session delete's lookup): try its schedule without the
                // operation's first choice too.
                candidates.push((candidate.clone(), without_first_choice(schedule, i)));
                candidates.push((candidate, schedule.clone()));
            }
        }
        candidates.extend(
            fewer_switches(schedule)
                .into_iter()
                .map(|s| (self.clone(), s)),
        );
        candidates.extend(self.children_moved_up(schedule));
        for (entity, slots) in self.rows.iter().enumerate() {
            let low = self.system.entities[entity].count.0;
            for (slot, count) in slots.iter().enumerate() {
                if *count > low {
                    let mut candidate = self.clone();
                    candidate.rows[entity][slot] -= 1;
                    candidates.push((candidate, schedule.clone()));
                }
            }
        }
        candidates
    }

    /// Per entity of one parent and per parent row, this seed with that
    /// row's children gone and the next rows' children moved up one parent
    /// (`u1 u2 t1(u2)` becomes `u1 u2 t1(u1)`, whose `u2` the next pass can
    /// drop). Each leaves fewer children, or the same ones under earlier
    /// parents, so repeating it ends.
    fn children_moved_up(&self, schedule: &Schedule) -> Vec<(CaseSeed, Schedule)> {
        let mut candidates = Vec::new();
        for (entity, slots) in self.rows.iter().enumerate() {
            let spec = &self.system.entities[entity];
            if spec.parents.len() != 1 {
                continue;
            }
            let low = spec.count.0;
            for slot in 0..slots.len() {
                if slots[slot..].iter().all(|count| *count == low) {
                    break;
                }
                let mut candidate = self.clone();
                let moved = &mut candidate.rows[entity];
                moved.remove(slot);
                moved.push(low);
                candidates.push((candidate, schedule.clone()));
            }
        }
        candidates
    }

    /// `candidate` (this seed without operation `index`) with the rows that
    /// operation created already in the world, where the seed can say so
    /// (a row of one parent: its count under that parent grows by one).
    fn with_created_rows(
        &self,
        case: &crate::case::Case,
        index: usize,
        candidate: &CaseSeed,
    ) -> Option<CaseSeed> {
        let operation = case.operations.get(index)?;
        let spec = &self.system.operations[&operation.action.kind];
        let mut materialized = candidate.clone();
        let mut changed = false;
        for (parameter, row) in spec.parameters.iter().zip(&operation.action.arguments) {
            let Source::New(Some(of)) = parameter.source else {
                continue;
            };
            let parent = &operation.action.arguments[of];
            let entity = &self.system.entities[row.entity];
            let slot = case
                .world
                .of_entity(parent.entity)
                .position(|r| &r.key == parent)?;
            let slots = materialized.rows.get_mut(row.entity)?;
            while slots.len() <= slot {
                slots.push(entity.count.0);
            }
            if slots[slot] < entity.count.1 {
                slots[slot] += 1;
                changed = true;
            }
        }
        changed.then_some(materialized)
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
    use crate::generate::strategy::OperationSeed;
    use crate::system::System;

    /// `u1 u2 t1(u2)`: among the simpler worlds is `u1 u2 t1(u1)`, from
    /// which dropping the last user leaves one user and one token.
    #[test]
    fn a_parent_rows_children_move_up_to_the_one_before() {
        let system = System::load("stack-auth").unwrap();
        let sign_out = system.operations.keys().position(|k| k == "sign-out");
        let seed = CaseSeed {
            rows: system
                .entities
                .iter()
                .map(|e| match e.name.as_str() {
                    "user" => vec![2],
                    "token" => vec![0, 1, 0],
                    _ => Vec::new(),
                })
                .collect(),
            system,
            operations: vec![OperationSeed {
                kind: sign_out.unwrap(),
                choices: vec![0, 0],
            }],
            preferences: Vec::new(),
        };
        assert_eq!(seed.world().to_string(), "u1 u2 t1(u2)");
        let schedule = Schedule::new(Vec::new());
        let moved = seed
            .simpler(&schedule)
            .into_iter()
            .map(|(candidate, _)| candidate)
            .find(|candidate| candidate.world().to_string() == "u1 u2 t1(u1)")
            .expect("t1 moved up to u1");
        let worlds: Vec<String> = moved
            .simpler(&schedule)
            .iter()
            .map(|(candidate, _)| candidate.world().to_string())
            .collect();
        assert!(worlds.contains(&"u1 t1(u1)".to_string()), "{worlds:?}");
    }

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

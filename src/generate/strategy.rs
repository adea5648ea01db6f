//! proptest strategies: worlds, concurrent operations and schedules, for
//! any system.
//!
//! A generated value is a `CaseSeed` of small numbers that is resolved
//! against its own world, so every shrink (fewer rows, fewer operations,
//! smaller preferences) still names rows that exist or, on purpose, ones
//! that are gone. Shrinking preferences towards 0 removes context switches
//! (see `chooser::Preference`).

use crate::case::Case;
use crate::operation::Action;
use crate::system::{Source, System};
use crate::world::{RowKey, World, WorldRow};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Rows one entity may have in a generated world at most (its parents'
/// combinations included): worlds stay readable.
pub const ROWS_PER_ENTITY_MAX: usize = 32;

/// An operation before resolution: the operation (an index into the
/// system's operations by name) and one choice per parameter, each an
/// index taken modulo the candidates.
#[derive(Clone, Debug)]
pub struct OperationSeed {
    pub kind: usize,
    pub choices: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct CaseSeed {
    pub system: Arc<System>,
    /// Per entity: its row count (no parent), its count per parent row
    /// (one parent, by the parent's position), or 0/1 per combination of
    /// parent rows (several parents).
    pub rows: Vec<Vec<u8>>,
    pub operations: Vec<OperationSeed>,
    pub preferences: Vec<u8>,
}

/// Bounds of generation, unit last.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub operations_min: usize,
    pub operations_max: usize,
    pub preferences_max: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            operations_min: 2,
            operations_max: 4,
            preferences_max: 24,
        }
    }
}

/// Bounds a generator cannot draw from, in one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BoundsError {
    #[error(
        "bounds: operations_min must be 1 to operations_max, and operations_max at most {max}; got {0}..={1}",
        max = crate::case::OPERATIONS_MAX
    )]
    Operations(usize, usize),
}

impl Bounds {
    pub fn validate(&self) -> Result<(), BoundsError> {
        let (min, max) = (self.operations_min, self.operations_max);
        if min == 0 || min > max || max > crate::case::OPERATIONS_MAX {
            return Err(BoundsError::Operations(min, max));
        }
        Ok(())
    }
}

/// How many rows of `entity` a world can hold at most (capped).
fn capacity(system: &System, entity: usize) -> usize {
    let spec = &system.entities[entity];
    let cap = match spec.parents.as_slice() {
        [] => spec.count.1 as usize,
        [parent] => capacity(system, *parent) * spec.count.1 as usize,
        parents => parents.iter().map(|&p| capacity(system, p)).product(),
    };
    cap.min(ROWS_PER_ENTITY_MAX)
}

/// The slots of `entity`'s seed: one count, one per parent row, or one per
/// combination of parent rows.
fn slots(system: &System, entity: usize) -> usize {
    let spec = &system.entities[entity];
    match spec.parents.as_slice() {
        [] => 1,
        [parent] => capacity(system, *parent),
        parents => parents
            .iter()
            .map(|&p| capacity(system, p))
            .product::<usize>()
            .min(ROWS_PER_ENTITY_MAX),
    }
}

fn operation_seed(system: &System, kinds: &[String]) -> BoxedStrategy<OperationSeed> {
    // Small indexes on purpose: bulk and single deletes on the same rows
    // must be common, not lucky.
    let names: Vec<&String> = system.operations.keys().collect();
    let options: Vec<(u32, BoxedStrategy<OperationSeed>)> = kinds
        .iter()
        .filter_map(|kind| {
            let index = names.iter().position(|n| *n == kind)?;
            let spec = &system.operations[kind];
            let strategy = proptest::collection::vec(0u8..3, spec.parameters.len())
                .prop_map(move |choices| OperationSeed {
                    kind: index,
                    choices,
                })
                .boxed();
            Some((spec.weight.max(1), strategy))
        })
        .collect();
    assert!(!options.is_empty(), "harness bug: no operation to draw");
    proptest::strategy::Union::new_weighted(options).boxed()
}

/// Cases of `system` with operations drawn from `kinds` (the ones the
/// implementation has).
pub fn case_seed(
    bounds: Bounds,
    system: Arc<System>,
    kinds: &[String],
) -> Result<BoxedStrategy<CaseSeed>, BoundsError> {
    bounds.validate()?;
    let rows: Vec<BoxedStrategy<Vec<u8>>> = (0..system.entities.len())
        .map(|e| {
            let (low, high) = system.entities[e].count;
            // Every slot drawn: with a shorter list the parent rows past its
            // end would all get the minimum, and the last users of a world
            // would seldom hold a token.
            proptest::collection::vec(low..=high, slots(&system, e)).boxed()
        })
        .collect();
    Ok((
        rows,
        proptest::collection::vec(
            operation_seed(&system, kinds),
            bounds.operations_min..=bounds.operations_max,
        ),
        proptest::collection::vec(0u8..4, 0..=bounds.preferences_max),
    )
        .prop_map(move |(rows, operations, preferences)| CaseSeed {
            system: system.clone(),
            rows,
            operations,
            preferences,
        })
        .boxed())
}

impl CaseSeed {
    pub fn world(&self) -> World {
        let system = &self.system;
        let mut rows: Vec<WorldRow> = Vec::new();
        for (entity, spec) in system.entities.iter().enumerate() {
            let seed = self.rows.get(entity).map(Vec::as_slice).unwrap_or(&[]);
            let parent_rows: Vec<Vec<RowKey>> = spec
                .parents
                .iter()
                .map(|&p| {
                    rows.iter()
                        .filter(|r| r.key.entity == p)
                        .map(|r| r.key.clone())
                        .collect()
                })
                .collect();
            let mut number = 0u16;
            let add = |number: &mut u16, parents: Vec<RowKey>, rows: &mut Vec<WorldRow>| {
                *number += 1;
                rows.push(WorldRow {
                    key: RowKey::new(system, entity, *number),
                    parents,
                });
            };
            match parent_rows.as_slice() {
                [] => {
                    let count = seed
                        .first()
                        .copied()
                        .unwrap_or(spec.count.0)
                        .max(spec.count.0);
                    for _ in 0..count {
                        add(&mut number, Vec::new(), &mut rows);
                    }
                }
                [parents] => {
                    for (slot, parent) in parents.iter().enumerate().take(ROWS_PER_ENTITY_MAX) {
                        let count = seed.get(slot).copied().unwrap_or(spec.count.0);
                        for _ in 0..count {
                            if number as usize >= ROWS_PER_ENTITY_MAX {
                                break;
                            }
                            add(&mut number, vec![parent.clone()], &mut rows);
                        }
                    }
                }
                several => {
                    for (slot, combination) in combinations(several).into_iter().enumerate() {
                        if seed.get(slot).copied().unwrap_or(spec.count.0) > 0 {
                            add(&mut number, combination, &mut rows);
                        }
                    }
                }
            }
        }
        World::new(rows)
    }

    /// The case this seed describes, and the schedule preferences.
    pub fn resolve(&self) -> (Case, Vec<u8>) {
        let world = self.world();
        let mut fresh: BTreeMap<usize, u16> = (0..self.system.entities.len())
            .map(|e| (e, world.next_number(e)))
            .collect();
        let names: Vec<&String> = self.system.operations.keys().collect();
        let mut actions: Vec<Action> = self
            .operations
            .iter()
            .filter_map(|seed| {
                let kind = names.get(seed.kind % names.len().max(1))?;
                resolve_operation(&self.system, &world, kind, &seed.choices, &mut fresh)
            })
            .collect();
        if actions.is_empty() {
            // Nothing in this world fits the drawn operations: the plainest
            // one that does keeps the case valid.
            actions.extend(
                names.iter().find_map(|kind| {
                    resolve_operation(&self.system, &world, kind, &[], &mut fresh)
                }),
            );
        }
        (
            Case::new(self.system.clone(), world, actions),
            self.preferences.clone(),
        )
    }
}

/// Every combination of one row from each list, in order.
fn combinations(lists: &[Vec<RowKey>]) -> Vec<Vec<RowKey>> {
    let mut all: Vec<Vec<RowKey>> = vec![Vec::new()];
    for list in lists {
        all = all
            .into_iter()
            .flat_map(|prefix| {
                list.iter().map(move |row| {
                    let mut next = prefix.clone();
                    next.push(row.clone());
                    next
                })
            })
            .collect();
    }
    all.truncate(ROWS_PER_ENTITY_MAX);
    all
}

fn pick(items: &[RowKey], choice: u8) -> Option<RowKey> {
    (!items.is_empty()).then(|| items[choice as usize % items.len()].clone())
}

/// The action `kind` with `choices` in `world`; where no row fits a
/// parameter, one that never existed (if the parameter allows it) or the
/// operation's fallback, else nothing.
fn resolve_operation(
    system: &System,
    world: &World,
    kind: &str,
    choices: &[u8],
    fresh: &mut BTreeMap<usize, u16>,
) -> Option<Action> {
    let spec = &system.operations[kind];
    let mut arguments: Vec<RowKey> = Vec::new();
    let mut fresh_here = fresh.clone();
    for (index, parameter) in spec.parameters.iter().enumerate() {
        let choice = choices.get(index).copied().unwrap_or(0);
        let mut new_row = |entity: usize| {
            let next = fresh_here.entry(entity).or_insert(1);
            *next += 1;
            RowKey::new(system, entity, *next - 1)
        };
        let found = match parameter.source {
            Source::Any => {
                let rows: Vec<RowKey> = world
                    .of_entity(parameter.entity)
                    .map(|r| r.key.clone())
                    .collect();
                pick(&rows, choice)
            }
            Source::ChildOf(of) => pick(&world.children(parameter.entity, &arguments[of]), choice),
            Source::ParentOf(of) => world.row(&arguments[of]).and_then(|r| {
                r.parents
                    .iter()
                    .find(|p| p.entity == parameter.entity)
                    .cloned()
            }),
            Source::New(_) => Some(new_row(parameter.entity)),
        };
        let row = match (found, parameter.missing) {
            (Some(row), _) => row,
            (None, true) => new_row(parameter.entity),
            (None, false) => {
                let fallback = spec.otherwise.as_ref()?;
                return resolve_operation(system, world, fallback, choices, fresh);
            }
        };
        arguments.push(row);
    }
    *fresh = fresh_here;
    Some(Action::new(system, kind, arguments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn every_resolved_case_is_valid() {
        let system = System::load("stack-auth").unwrap();
        let kinds: Vec<String> = system.operations.keys().cloned().collect();
        let mut runner = TestRunner::deterministic();
        let strategy = case_seed(Bounds::default(), system, &kinds).unwrap();
        for _ in 0..500 {
            let seed = strategy.new_tree(&mut runner).unwrap().current();
            let (case, _) = seed.resolve();
            case.validate().unwrap_or_else(|e| panic!("{e}: {case}"));
        }
    }

    /// `count = [0, 4]` under `user`: each user draws its own 0 to 4
    /// tokens, the last user of a world as often as the first.
    #[test]
    fn every_parent_row_draws_its_own_count_of_children() {
        let system = System::load("stack-auth").unwrap();
        let kinds: Vec<String> = system.operations.keys().cloned().collect();
        let token = system.entity("token").unwrap();
        let mut runner = TestRunner::deterministic();
        let strategy = case_seed(Bounds::default(), system.clone(), &kinds).unwrap();
        // Per user position: worlds where it exists, and where it holds tokens.
        let mut seen = [(0u32, 0u32); 3];
        for _ in 0..600 {
            let world = strategy.new_tree(&mut runner).unwrap().current().world();
            let users: Vec<RowKey> = world
                .of_entity(system.entity("user").unwrap())
                .map(|r| r.key.clone())
                .collect();
            for (position, user) in users.iter().enumerate() {
                seen[position].0 += 1;
                seen[position].1 += u32::from(!world.children(token, user).is_empty());
            }
        }
        for (position, (worlds, holding)) in seen.iter().enumerate() {
            // 4 in 5 hold a token when each draws 0 to 4.
            let share = f64::from(*holding) / f64::from(*worlds);
            assert!((0.7..0.9).contains(&share), "u{}: {share:.2}", position + 1);
        }
    }

    #[test]
    fn bounds_that_cannot_generate_are_a_typed_error() {
        let bounds = |operations_min, operations_max| Bounds {
            operations_min,
            operations_max,
            ..Bounds::default()
        };
        assert_eq!(bounds(2, 9).validate(), Err(BoundsError::Operations(2, 9)));
        assert_eq!(bounds(5, 4).validate(), Err(BoundsError::Operations(5, 4)));
        assert_eq!(bounds(0, 4).validate(), Err(BoundsError::Operations(0, 4)));
        let system = System::load("stack-auth").unwrap();
        let err = case_seed(bounds(2, 9), system, &["sign-out".to_string()]).unwrap_err();
        assert!(
            err.to_string().starts_with("bounds: operations_min"),
            "{err}"
        );
    }
}

//! What a serial run of the reference implementation can depend on, read
//! from the footprints (issue #13's `Reach`) of the reference's statements:
//! which operations of a case conflict, and which rows of the world a run
//! reaches. A serial run reads and writes nothing else, so
//! - operations fall into groups, none reaching what another group writes,
//!   and each group's results and rows are what it gives on its own;
//! - two cases whose group has the same operations, in the same order, and
//!   the same reached rows get the same results and the same live rows
//!   among those rows, and every row no group reaches stays as the world
//!   had it.
//!
//! That lets a stress run, which draws a new case every time, share serial
//! runs between cases. Must not know: how a run is made or kept.

use super::EngineError;
use super::serial::SerialOutcome;
use crate::case::Case;
use crate::history::OperationResult;
use crate::implementation::Implementation;
use crate::implementation::touch::{Action, Space};
use crate::reach::{Physics, Reach, Rows};
use crate::world::RowKey;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// One session at a time: a lock orders nothing, the isolation level
/// changes nothing, and two tombstones for one row are not taken to commute
/// (a unique key may decide between them).
const SERIAL: Physics = Physics {
    appends_commute: false,
    locks_are_reads: true,
};

/// The reference implementation's reach for each operation of one case.
pub(super) struct Footprints {
    reaches: Vec<Reach>,
    /// Per operation, the entities its statements insert into or update: a
    /// unique key there may compare the written row with any row of the
    /// table, which no footprint names.
    written: Vec<BTreeSet<usize>>,
}

impl Footprints {
    pub(super) fn of(case: &Case, reference: &Implementation) -> Result<Footprints, EngineError> {
        let mut reaches = Vec::new();
        let mut written = Vec::new();
        for operation in &case.operations {
            let Some(script) = reference.script(&operation.action.kind) else {
                return Err(EngineError::MissingOperation {
                    implementation: reference.name.clone(),
                    operation: operation.action.kind.clone(),
                });
            };
            written.push(
                script
                    .steps
                    .iter()
                    .flat_map(|s| &s.touches)
                    .filter_map(|touch| match (&touch.space, touch.action) {
                        (Space::Entity(entity), Action::Insert | Action::Update) => Some(*entity),
                        _ => None,
                    })
                    .collect(),
            );
            let steps = script.steps.iter().map(|s| s.touches.as_slice());
            // Not `Program::whole_reach`: that makes a transaction above READ
            // COMMITTED reach everything, which matters only when sessions
            // interleave.
            let mut whole = Reach::default();
            for reach in Reach::of_steps(case, &operation.action, steps, SERIAL) {
                whole.add(&reach);
            }
            reaches.push(whole);
        }
        Ok(Footprints { reaches, written })
    }

    /// `conflicts[a][b]`: operations `a` and `b` may give a different result
    /// when run in the other order.
    pub(super) fn conflicts(&self) -> Vec<Vec<bool>> {
        let reaches = &self.reaches;
        reaches
            .iter()
            .enumerate()
            .map(|(a, mine)| {
                reaches
                    .iter()
                    .enumerate()
                    .map(|(b, theirs)| a != b && mine.conflicts(theirs))
                    .collect()
            })
            .collect()
    }

    /// The operations that may affect one another, in groups: two
    /// operations are in one group when they conflict, or both insert into
    /// or update one table (a unique key may decide between them).
    fn groups(&self) -> Vec<Vec<usize>> {
        let conflicts = self.conflicts();
        let count = self.reaches.len();
        let mut group: Vec<usize> = (0..count).collect();
        let find = |group: &[usize], mut at: usize| {
            while group[at] != at {
                at = group[at];
            }
            at
        };
        let joined =
            |a: usize, b: usize| conflicts[a][b] || !self.written[a].is_disjoint(&self.written[b]);
        let pairs = (0..count).flat_map(|a| (a + 1..count).map(move |b| (a, b)));
        for (a, b) in pairs.filter(|&(a, b)| joined(a, b)) {
            let (ra, rb) = (find(&group, a), find(&group, b));
            group[ra.max(rb)] = ra.min(rb);
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for operation in 0..count {
            groups
                .entry(find(&group, operation))
                .or_default()
                .push(operation);
        }
        groups.into_values().collect()
    }

    /// What a serial run of `case` in `order` depends on, one part per
    /// group of operations (no part's statements reach what another's
    /// write), or `None` where some statement's rows are not known one by
    /// one.
    pub(super) fn shared(
        &self,
        case: &Case,
        reference: &str,
        order: &[usize],
    ) -> Option<Vec<Shared>> {
        self.groups()
            .into_iter()
            .map(|operations| self.part(case, reference, order, operations))
            .collect()
    }

    fn part(
        &self,
        case: &Case,
        reference: &str,
        order: &[usize],
        operations: Vec<usize>,
    ) -> Option<Shared> {
        let mut reached: BTreeMap<usize, Rows> = BTreeMap::new();
        let mut written: BTreeSet<usize> = BTreeSet::new();
        for &operation in &operations {
            for (entity, rows) in self.reaches[operation].entity_rows()? {
                reached
                    .entry(entity)
                    .or_insert_with(|| Rows::Some(BTreeSet::new()))
                    .union(&rows);
            }
            written.extend(&self.written[operation]);
        }
        let system = &case.system;
        let mut key = format!("{}|{reference}|", system.name);
        for operation in order.iter().filter(|o| operations.contains(o)) {
            let _ = write!(
                key,
                "{};",
                case.operations[*operation].action.to_json(system)
            );
        }
        for (entity, rows) in &reached {
            match rows {
                Rows::Every => {
                    let _ = write!(key, "|{entity}:*");
                }
                Rows::Some(keys) => {
                    let numbers: Vec<u16> = keys.iter().map(|k| k.number).collect();
                    let _ = write!(key, "|{entity}:{numbers:?}");
                }
            }
        }
        key.push_str("|world");
        for row in case.world.rows() {
            if reaches(&reached, &row.key) || written.contains(&row.key.entity) {
                let parents: Vec<String> = row.parents.iter().map(label).collect();
                let _ = write!(key, " {}<{}>", label(&row.key), parents.join(","));
            }
        }
        let run = order
            .iter()
            .copied()
            .filter(|o| operations.contains(o))
            .collect();
        Some(Shared {
            run,
            key: fingerprint(&key),
            reached,
        })
    }
}

/// One group of a case's operations, as serial runs are shared: the key
/// under which runs of every case with the same operations (in the order
/// run) and the same reached rows are kept, and the rows it reaches.
pub(super) struct Shared {
    /// The part's operations, by index in the case, in the order run.
    run: Vec<usize>,
    pub(super) key: u128,
    reached: BTreeMap<usize, Rows>,
}

/// What a part of a serial run leaves for other cases: its operations'
/// results in the order run, and the live rows among those it reaches (by
/// entity and number: thousands are kept, and memory must stay flat).
#[derive(Clone, Debug)]
pub(super) struct KeptPart {
    results: Vec<OperationResult>,
    live: Vec<(usize, u16)>,
}

impl Shared {
    fn contains(&self, row: &RowKey) -> bool {
        reaches(&self.reached, row)
    }
}

/// `found`, a serial run of `case`, cut into what each part leaves for
/// other cases; `None` when the run contradicts its footprints (a row no
/// part reaches went away, or appeared), so that nothing may be shared.
pub(super) fn keep(case: &Case, parts: &[Shared], found: &SerialOutcome) -> Option<Vec<KeptPart>> {
    let reached = |k: &RowKey| parts.iter().any(|p| p.contains(k));
    let world: BTreeSet<&RowKey> = case.world.rows().iter().map(|r| &r.key).collect();
    let untouched = world.iter().all(|k| reached(k) || found.live.contains(k));
    let nothing_else = found.live.iter().all(|k| reached(k) || world.contains(k));
    (untouched && nothing_else).then(|| {
        parts
            .iter()
            .map(|part| KeptPart {
                results: part.run.iter().map(|&o| found.results[o].clone()).collect(),
                live: found
                    .live
                    .iter()
                    .filter(|k| part.contains(k))
                    .map(|k| (k.entity, k.number))
                    .collect(),
            })
            .collect()
    })
}

/// A serial run of `case` put together from parts kept by other cases (one
/// per part, in the same order): the rows no part reaches are live as the
/// world has them.
pub(super) fn put_together(case: &Case, parts: &[Shared], kept: &[&KeptPart]) -> SerialOutcome {
    let mut results = vec![None; case.operations.len()];
    let mut live: BTreeSet<RowKey> = case
        .world
        .rows()
        .iter()
        .map(|r| &r.key)
        .filter(|k| !parts.iter().any(|p| p.contains(k)))
        .cloned()
        .collect();
    for (part, kept) in parts.iter().zip(kept) {
        for (&operation, result) in part.run.iter().zip(&kept.results) {
            results[operation] = Some(result.clone());
        }
        let rows = kept.live.iter();
        live.extend(rows.map(|&(entity, number)| RowKey::new(&case.system, entity, number)));
    }
    SerialOutcome {
        results: results
            .into_iter()
            .map(|r| r.expect("harness bug: an operation in no part of a case"))
            .collect(),
        live,
        met_unique_key: false,
    }
}

/// A 128-bit digest of a key's text: kept runs are looked up by it, so
/// thousands of them cost little memory. Two SipHash passes with different
/// prefixes; a collision between two of a run's keys is not to be expected
/// (about one in 10^30 for 10,000 keys).
pub(super) fn fingerprint(text: &str) -> u128 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let half = |prefix: u8| {
        let mut hasher = DefaultHasher::new();
        (prefix, text).hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

/// A row by entity index and number: prefixes need not differ.
fn label(row: &RowKey) -> String {
    format!("{}/{}", row.entity, row.number)
}

fn reaches(reached: &BTreeMap<usize, Rows>, row: &RowKey) -> bool {
    match reached.get(&row.entity) {
        Some(Rows::Every) => true,
        Some(Rows::Some(keys)) => keys.contains(row),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::System;

    fn blog(world: &str, actions: &[&str]) -> (Case, Implementation) {
        let system = System::load("blog").expect("the blog ships");
        let reference = Implementation::load(&system, &system.reference).expect("its reference");
        (
            Case::parse(&system, world, actions).expect("case"),
            reference,
        )
    }

    fn parts(case: &Case, reference: &Implementation, order: &[usize]) -> Vec<Shared> {
        let footprints = Footprints::of(case, reference).expect("footprints");
        footprints
            .shared(case, &reference.name, order)
            .expect("rows known one by one")
    }

    #[test]
    fn deletes_on_other_posts_are_groups_of_their_own_and_a_posts_delete_joins_its_comments() {
        let (case, reference) = blog(
            "p1 p2 c1(p1) c2(p2)",
            &[
                "delete-comment comment=c1 post=p1",
                "delete-comment comment=c2 post=p2",
                "delete-post post=p1",
            ],
        );
        let groups: Vec<Vec<usize>> = parts(&case, &reference, &[0, 1, 2])
            .iter()
            .map(|p| p.run.clone())
            .collect();
        assert_eq!(groups, vec![vec![0, 2], vec![1]]);
        // The key follows the order run: the same group run the other way
        // round is another key.
        let backward = parts(&case, &reference, &[2, 1, 0]);
        assert_eq!(backward[0].run, vec![2, 0]);
        assert_ne!(backward[0].key, parts(&case, &reference, &[0, 1, 2])[0].key);
    }

    #[test]
    fn a_run_that_changes_a_row_no_group_reaches_is_not_kept() {
        let (case, reference) = blog("p1 p2 c1(p1)", &["delete-comment comment=c1 post=p1"]);
        let parts = parts(&case, &reference, &[0]);
        let keys = case.world.keys();
        let results = vec![OperationResult::Finished(crate::history::Outcome::ok())];
        let run = |live: Vec<RowKey>| SerialOutcome {
            results: results.clone(),
            live: live.into_iter().collect(),
            met_unique_key: false,
        };
        let (p1, p2, c1) = (keys[0].clone(), keys[1].clone(), keys[2].clone());
        let kept = keep(&case, &parts, &run(vec![p1.clone(), p2.clone()])).expect("as reached");
        assert_eq!(
            put_together(&case, &parts, &kept.iter().collect::<Vec<_>>()).live,
            [p1.clone(), p2.clone()].into()
        );
        assert!(
            keep(&case, &parts, &run(vec![p1.clone()])).is_none(),
            "p2 went away"
        );
        let c9 = RowKey::new(&case.system, c1.entity, 9);
        assert!(
            keep(&case, &parts, &run(vec![p1, p2, c9])).is_none(),
            "c9 appeared"
        );
    }
}

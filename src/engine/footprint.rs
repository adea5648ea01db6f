//! What a serial run of the reference implementation can depend on, read
//! from the footprints (issue #13's `Reach`) of the reference's statements:
//! which operations of a case conflict (two serial orders that only swap
//! operations that do not are equivalent), and the rows each operation can
//! see or change, its scope (`transition` keeps what an operation did in
//! its scope for other cases). Must not know: how a run is made or kept.

use super::EngineError;
use crate::case::Case;
use crate::implementation::Implementation;
use crate::implementation::touch::{Action, Space};
use crate::reach::{Physics, Reach, Rows};
use crate::world::RowKey;
use std::collections::{BTreeMap, BTreeSet};

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

    /// The rows `operation` can see or change when it runs alone: those its
    /// statements reach, and every row of a table it inserts into or
    /// updates (a unique key there may compare the written row with any of
    /// them); `None` where its rows are not known one by one.
    pub(super) fn scope(&self, operation: usize) -> Option<Scope> {
        let mut rows = self.reaches[operation].entity_rows()?;
        for &entity in &self.written[operation] {
            rows.insert(entity, Rows::Every);
        }
        Some(Scope { rows })
    }
}

/// The rows one operation of a serial run can see or change, by entity. A
/// serial run reads and writes nothing else, so what the operation does
/// depends only on which of them are live (and their parents), and every
/// row outside stays as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Scope {
    pub(super) rows: BTreeMap<usize, Rows>,
}

impl Scope {
    pub(super) fn contains(&self, row: &RowKey) -> bool {
        match self.rows.get(&row.entity) {
            Some(Rows::Every) => true,
            Some(Rows::Some(keys)) => keys.contains(row),
            None => false,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::system::System;

    pub(in crate::engine) fn blog(world: &str, actions: &[&str]) -> (Case, Implementation) {
        let system = System::load("blog").expect("the blog ships");
        let reference = Implementation::load(&system, &system.reference).expect("its reference");
        (
            Case::parse(&system, world, actions).expect("case"),
            reference,
        )
    }

    #[test]
    fn a_delete_sees_its_rows_and_an_insert_every_row_of_its_table() {
        let (case, reference) = blog(
            "p1 p2 c1(p1) c2(p2)",
            &[
                "delete-comment comment=c1 post=p1",
                "add-comment comment=c3 post=p2",
            ],
        );
        let footprints = Footprints::of(&case, &reference).expect("footprints");
        let keys = case.world.keys();
        let (p1, p2, c1, c2) = (&keys[0], &keys[1], &keys[2], &keys[3]);
        let delete = footprints.scope(0).expect("known row by row");
        // The reference deletes a comment by its id alone.
        assert!(delete.contains(c1));
        assert!(!delete.contains(c2) && !delete.contains(p1) && !delete.contains(p2));
        let add = footprints.scope(1).expect("known row by row");
        assert_eq!(add.rows.get(&c1.entity), Some(&Rows::Every));
        // The new comment's post is held (key-share), the other is not.
        assert!(add.contains(p2) && !add.contains(p1));
    }
}

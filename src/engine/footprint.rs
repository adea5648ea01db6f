//! What a serial run of the reference implementation can depend on, read
//! from the footprints (issue #13's `Reach`) of the reference's statements:
//! which operations of a case conflict (two serial orders that only swap
//! operations that do not are equivalent), and the rows each operation can
//! see or change, its scope (`transition` keeps what an operation did in
//! its scope for other cases). Must not know: how a run is made or kept.

use super::EngineError;
use crate::case::Case;
use crate::db::UniqueKey;
use crate::implementation::Implementation;
use crate::implementation::touch::{Action, Narrowing, Space, Touch};
use crate::reach::{Physics, Reach, Rows};
use crate::system::System;
use crate::world::RowKey;
use std::collections::BTreeMap;

/// One session at a time: a lock orders nothing, the isolation level
/// changes nothing, and two tombstones for one row are not taken to commute
/// (a unique key may decide between them).
const SERIAL: Physics = Physics {
    appends_commute: false,
    locks_are_reads: true,
};

/// The reference implementation's reach for each operation of one case,
/// with the rows the unique keys of what it writes compare against.
pub(super) struct Footprints {
    reaches: Vec<Reach>,
}

impl Footprints {
    pub(super) fn of(
        case: &Case,
        reference: &Implementation,
        keys: &[UniqueKey],
    ) -> Result<Footprints, EngineError> {
        let mut reaches = Vec::new();
        for operation in &case.operations {
            let Some(script) = reference.script(&operation.action.kind) else {
                return Err(EngineError::MissingOperation {
                    implementation: reference.name.clone(),
                    operation: operation.action.kind.clone(),
                });
            };
            let checks: Vec<Vec<Touch>> = script
                .steps
                .iter()
                .map(|s| unique_checks(&s.touches, &case.system, keys))
                .collect();
            let steps = script.steps.iter().map(|s| s.touches.as_slice());
            let steps = steps.chain(checks.iter().map(Vec::as_slice));
            // Not `Program::whole_reach`: that makes a transaction above READ
            // COMMITTED reach everything, which matters only when sessions
            // interleave.
            let mut whole = Reach::default();
            for reach in Reach::of_steps(case, &operation.action, steps, SERIAL) {
                whole.add(&reach);
            }
            reaches.push(whole);
        }
        Ok(Footprints { reaches })
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
    /// statements reach and those their unique keys compare with; `None`
    /// where its rows are not known one by one.
    pub(super) fn scope(&self, operation: usize) -> Option<Scope> {
        let rows = self.reaches[operation].entity_rows()?;
        Some(Scope { rows })
    }
}

/// The rows the unique keys of one statement's writes compare the written
/// row with, as reads of them. An INSERT meets the rows that agree with it
/// on every column of a key, so among them those its own identity and
/// parent equalities on that key's columns name; a key where it gives none
/// may meet any row, and one with a column it leaves NULL none. An UPDATE
/// that sets a key column may meet any row. An exclusion constraint or a
/// key on expressions may meet any row.
fn unique_checks(touches: &[Touch], system: &System, keys: &[UniqueKey]) -> Vec<Touch> {
    let mut checks = Vec::new();
    for touch in touches {
        let Space::Entity(entity) = touch.space else {
            continue;
        };
        let table = &system.entities[entity].table;
        let keys = keys.iter().filter(|k| &k.table == table);
        let check = |rows| Touch {
            space: Space::Entity(entity),
            action: Action::Read,
            rows,
            columns: Some(Vec::new()),
        };
        match touch.action {
            Action::Insert => {
                for key in keys {
                    let (Some(key_columns), Narrowing::Equal(pairs), Some(given)) =
                        (&key.columns, &touch.rows, &touch.columns)
                    else {
                        checks.push(check(Narrowing::Every));
                        continue;
                    };
                    let left_null = key_columns
                        .iter()
                        .any(|c| !given.contains(c) && key.null_when_left_out.contains(c));
                    if left_null {
                        continue;
                    }
                    let on_key: Vec<_> = pairs
                        .iter()
                        .filter(|(column, _)| key_columns.contains(column))
                        .cloned()
                        .collect();
                    checks.push(check(if on_key.is_empty() {
                        Narrowing::Every
                    } else {
                        Narrowing::Equal(on_key)
                    }));
                }
            }
            Action::Update => {
                let sets_key = |key: &UniqueKey| match (&key.columns, &touch.columns) {
                    (Some(key_columns), Some(set)) => set.iter().any(|c| key_columns.contains(c)),
                    _ => true,
                };
                if keys.into_iter().any(sets_key) {
                    checks.push(check(Narrowing::Every));
                }
            }
            _ => {}
        }
    }
    checks
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

    /// A unique key on one of the blog's tables.
    fn key(table: &str, columns: Option<&[&str]>, null_when_left_out: &[&str]) -> UniqueKey {
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        UniqueKey {
            table: table.into(),
            columns: columns.map(names),
            null_when_left_out: names(null_when_left_out),
        }
    }

    #[test]
    fn a_delete_sees_its_rows_and_an_insert_those_its_unique_keys_compare_with() {
        let (case, reference) = blog(
            "p1 p2 c1(p1) c2(p2)",
            &[
                "delete-comment comment=c1 post=p1",
                "add-comment comment=c3 post=p2",
            ],
        );
        let keys = case.world.keys();
        let (p1, p2, c1, c2) = (&keys[0], &keys[1], &keys[2], &keys[3]);
        let scopes = |unique: &[UniqueKey]| {
            let footprints = Footprints::of(&case, &reference, unique).expect("footprints");
            let delete = footprints.scope(0).expect("known row by row");
            let add = footprints.scope(1).expect("known row by row");
            (delete, add)
        };
        // The schema's own key: comments(id), which the insert gives.
        let (delete, add) = scopes(&[key("comments", Some(&["id"]), &[])]);
        // The reference deletes a comment by its id alone.
        assert!(delete.contains(c1));
        assert!(!delete.contains(c2) && !delete.contains(p1) && !delete.contains(p2));
        // The new comment's post is held (key-share), the other is not; the
        // key on id compares the new comment with itself alone.
        assert!(add.contains(p2) && !add.contains(p1));
        assert!(!add.contains(c1) && !add.contains(c2));
        // A key the insert gives no identity for compares with every row.
        let (_, add) = scopes(&[key("comments", Some(&["body"]), &[])]);
        assert_eq!(add.rows.get(&c1.entity), Some(&Rows::Every));
        let (_, add) = scopes(&[key("comments", None, &[])]);
        assert_eq!(add.rows.get(&c1.entity), Some(&Rows::Every));
        // A key on the post compares with the post's comments.
        let (_, add) = scopes(&[key("comments", Some(&["post_id", "body"]), &[])]);
        assert!(add.contains(c2) && !add.contains(c1));
        // One on a column the insert leaves NULL compares with none.
        let (_, add) = scopes(&[key("comments", Some(&["edited"]), &["edited"])]);
        assert!(!add.contains(c1) && !add.contains(c2));
        // Keys of another table change nothing.
        let (_, add) = scopes(&[key("posts", Some(&["title"]), &[])]);
        assert!(!add.contains(c1) && !add.contains(p1));
    }
}

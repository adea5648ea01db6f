//! Naming what the database holds by the case's identities: each live row,
//! each tombstone and each deleted row's last content becomes the
//! [`RowKey`] of the row it names.
//!
//! A tombstone is named by the row its key *points at*, not only by an
//! exact match: a key with a missing, extra or misnamed field still names
//! its row when the row's own identity values (not the system's constants,
//! which every row shares) single it out, so the replayable-tombstone
//! oracle can say which field is wrong. One that points at no row, or at
//! several, is an orphan. Nothing an implementation can write makes naming
//! fail.
//!
//! Owns: the match between recorded keys and the world's rows. Must not
//! know: SQL, connections, what the oracles demand of a tombstone.

use crate::case::Case;
use crate::db::{RawRow, RawSnapshot, RawTombstone};
use crate::history::{OrphanTombstone, Snapshot, TombstoneRow};
use crate::operation::OperationId;
use crate::world::RowKey;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every row the case can hold, by entity, with its exact key and the
/// values that identify it.
struct Keys {
    by_key: BTreeMap<(usize, String), RowKey>,
    /// Per entity: each row with the values of its key that are its own
    /// (not a constant of the system).
    identities: BTreeMap<usize, Vec<(RowKey, BTreeSet<String>)>>,
}

impl Keys {
    fn of(case: &Case) -> Keys {
        let constants: BTreeSet<String> = case
            .system
            .constants
            .values()
            .map(|c| c.value.clone())
            .collect();
        let mut by_key = BTreeMap::new();
        let mut identities: BTreeMap<usize, Vec<(RowKey, BTreeSet<String>)>> = BTreeMap::new();
        for row in case.all_rows() {
            let key = case.system.key_json(&row);
            let own = leaves(&key)
                .into_iter()
                .filter(|v| !constants.contains(v))
                .collect();
            by_key.insert((row.key.entity, key.to_string()), row.key.clone());
            identities
                .entry(row.key.entity)
                .or_default()
                .push((row.key.clone(), own));
        }
        Keys { by_key, identities }
    }

    fn exact(&self, entity: usize, key: &Value) -> Option<RowKey> {
        self.by_key.get(&(entity, key.to_string())).cloned()
    }

    /// The row of `entity` whose own identity values `key` holds most of,
    /// when exactly one does; otherwise why not.
    fn pointed_at(&self, entity: usize, key: &Value) -> Result<RowKey, String> {
        if let Some(row) = self.exact(entity, key) {
            return Ok(row);
        }
        let held = leaves(key);
        let mut best: Vec<(usize, &RowKey)> = self
            .identities
            .get(&entity)
            .into_iter()
            .flatten()
            .map(|(row, own)| (own.intersection(&held).count(), row))
            .filter(|(score, _)| *score > 0)
            .collect();
        best.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
        match best.as_slice() {
            [] => Err("its key names no row of the world".into()),
            [(_, row)] => Ok((*row).clone()),
            [(a, row), (b, other), ..] if a == b => Err(format!(
                "its key fits more than one row ({row} and {other})"
            )),
            [(_, row), ..] => Ok((*row).clone()),
        }
    }
}

/// The scalar values anywhere in `value`, as text: `"1"` and `1` both read
/// `1`, so a key of the wrong type still points at its row.
fn leaves(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect_leaves(value, &mut found);
    found
}

fn collect_leaves(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            found.insert(s.clone());
        }
        Value::Number(n) => {
            found.insert(n.to_string());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_leaves(v, found)),
        Value::Object(map) => map.values().for_each(|v| collect_leaves(v, found)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// The snapshot named by the case's rows.
pub fn name_snapshot(case: &Case, raw: &RawSnapshot) -> Snapshot {
    let keys = Keys::of(case);
    let mut snapshot = Snapshot::default();
    for row in &raw.live {
        match keys.exact(row.entity, &row.key) {
            Some(key) => {
                snapshot.live.insert(key);
            }
            None => {
                let table = &case.system.entities[row.entity].table;
                snapshot.strangers.insert(format!("{table} {}", row.key));
            }
        }
    }
    for tombstone in &raw.tombstones {
        match name_tombstone(case, &keys, tombstone) {
            Ok(named) => snapshot.tombstones.push(named),
            Err(orphan) => snapshot.orphans.push(orphan),
        }
    }
    for deleted in &raw.deleted {
        if let Some(row) = keys.exact(deleted.entity, &key_of_content(case, deleted)) {
            // The last deleted version wins: a row deleted, made again and
            // deleted again is recorded as it was the last time.
            snapshot.deleted.insert(row, deleted.key.clone());
        }
    }
    snapshot
}

/// A deleted row's key, read from its whole content by the entity's key columns.
fn key_of_content(case: &Case, deleted: &RawRow) -> Value {
    let entity = &case.system.entities[deleted.entity];
    let map = entity
        .key
        .iter()
        .map(|column| {
            let value = deleted.key.get(column).cloned().unwrap_or(Value::Null);
            (column.clone(), value)
        })
        .collect();
    Value::Object(map)
}

fn name_tombstone(
    case: &Case,
    keys: &Keys,
    raw: &RawTombstone,
) -> Result<TombstoneRow, OrphanTombstone> {
    let writer = raw
        .writer
        .as_deref()
        .and_then(|w| w.strip_prefix("op")?.parse().ok())
        .map(OperationId);
    let table = match (raw.entity, &raw.table) {
        (Some(entity), _) => case.system.entities[entity].table.clone(),
        (None, Some(table)) => table.clone(),
        (None, None) => "(no table)".into(),
    };
    let orphan = |reason: String| OrphanTombstone {
        writer,
        table: table.clone(),
        key: raw.key.clone(),
        reason,
    };
    let entity = match (raw.entity, &raw.table) {
        (Some(entity), _) => entity,
        (None, Some(name)) => case.system.entity_of_table(name).ok_or_else(|| {
            orphan(format!(
                "it names table {}, which the system does not track",
                crate::text::quoted(name)
            ))
        })?,
        (None, None) => return Err(orphan("it names no table".into())),
    };
    let key = readable_key(&raw.key).map_err(&orphan)?;
    let row = keys.pointed_at(entity, &key).map_err(orphan)?;
    Ok(TombstoneRow {
        row,
        writer,
        table: raw.table.clone(),
        primary_key: raw.key.clone(),
        data: raw.data.clone(),
        required: raw.required.clone(),
    })
}

/// The key as an object to point with: a jsonb object as it is, a text
/// column holding JSON parsed (the oracle still judges the stored form).
fn readable_key(key: &Value) -> Result<Value, String> {
    match key {
        Value::Object(_) => Ok(key.clone()),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(parsed @ Value::Object(_)) => Ok(parsed),
            _ => Err(format!(
                "its key {} is not a JSON object",
                crate::text::one_line(text)
            )),
        },
        other => Err(format!("its key {other} is not a JSON object")),
    }
}

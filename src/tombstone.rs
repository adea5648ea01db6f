//! Naming what the database holds by the case's identities: each live row
//! and each tombstone becomes the [`RowKey`] of the row it names, matched by
//! the exact key the system says that row has.
//!
//! Owns: the match between recorded keys and the world's rows. Must not
//! know: SQL, connections, oracles.

use crate::case::Case;
use crate::db::{RawSnapshot, RawTombstone};
use crate::history::{Snapshot, TombstoneRow};
use crate::operation::OperationId;
use crate::world::RowKey;
use std::collections::BTreeMap;

/// Every row the case can hold, by entity and canonical key text.
struct Keys {
    by_key: BTreeMap<(usize, String), RowKey>,
}

impl Keys {
    fn of(case: &Case) -> Keys {
        let by_key = case
            .all_rows()
            .iter()
            .map(|row| {
                let key = case.system.key_json(row).to_string();
                ((row.key.entity, key), row.key.clone())
            })
            .collect();
        Keys { by_key }
    }

    fn find(&self, entity: usize, key: &serde_json::Value) -> Option<RowKey> {
        self.by_key.get(&(entity, key.to_string())).cloned()
    }
}

/// The snapshot named by the case's rows, or why a row could not be named.
pub fn name_snapshot(case: &Case, raw: &RawSnapshot) -> Result<Snapshot, String> {
    let keys = Keys::of(case);
    let mut snapshot = Snapshot::default();
    for row in &raw.live {
        let key = keys.find(row.entity, &row.key).ok_or_else(|| {
            format!(
                "a {} row {} is not one of the world's",
                case.system.entities[row.entity].table, row.key
            )
        })?;
        snapshot.live.insert(key);
    }
    for tombstone in &raw.tombstones {
        snapshot
            .tombstones
            .push(name_tombstone(case, &keys, tombstone)?);
    }
    Ok(snapshot)
}

fn name_tombstone(case: &Case, keys: &Keys, raw: &RawTombstone) -> Result<TombstoneRow, String> {
    let entity = match (raw.entity, &raw.table) {
        (Some(entity), _) => Some(entity),
        (None, Some(table)) => case.system.entity_of_table(table),
        (None, None) => None,
    };
    let row = entity.and_then(|e| keys.find(e, &raw.key)).ok_or_else(|| {
        format!(
            "a tombstone for {} {} names no row of the world",
            raw.table.as_deref().unwrap_or("?"),
            raw.key
        )
    })?;
    let writer = raw
        .writer
        .as_deref()
        .and_then(|w| w.strip_prefix("op")?.parse().ok())
        .map(OperationId);
    Ok(TombstoneRow {
        row,
        writer,
        primary_key: raw.key.clone(),
        data: raw.data.clone(),
    })
}

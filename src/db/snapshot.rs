//! Reading back what the database holds, as it is: each live row's key and
//! each tombstone's recorded fields, in one round trip (it runs after every
//! case). Naming them by the world's identities is [`crate::tombstone`]'s
//! job; nothing an implementation can write makes this read fail.

use super::DbError;
use super::seed::quote_identifier;
use crate::system::{Layout, System};
use sqlx::postgres::PgConnection;

/// A live row of a tracked or untracked entity, by its key columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRow {
    pub entity: usize,
    pub key: serde_json::Value,
}

/// A tombstone as written: the source table it names (shared layout) or
/// the entity whose tombstone table holds it (per-table layout), its key,
/// the row data if the layout stores it, the declared required columns,
/// and the session that wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTombstone {
    pub table: Option<String>,
    pub entity: Option<usize>,
    pub key: serde_json::Value,
    pub data: Option<serde_json::Value>,
    pub required: serde_json::Value,
    pub writer: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawSnapshot {
    pub live: Vec<RawRow>,
    /// In the order they were written.
    pub tombstones: Vec<RawTombstone>,
    /// What each deleted tracked row held (its entity and the whole row),
    /// in the order deleted; only where tombstones store rows.
    pub deleted: Vec<RawRow>,
}

fn key_object(columns: &[String]) -> String {
    if columns.is_empty() {
        return "'{}'::jsonb".into();
    }
    let pairs: Vec<String> = columns
        .iter()
        .map(|c| format!("'{}', {}", c.replace('\'', "''"), quote_identifier(c)))
        .collect();
    format!("jsonb_build_object({})", pairs.join(", "))
}

/// Live rows first, then tombstones in the order they were written. Every
/// recorded field is read through `to_jsonb`, so a key column of the wrong
/// type reads as a value the oracles can judge, never as an error.
pub fn snapshot_sql(system: &System) -> String {
    let required: Vec<String> = system.tombstones.required.keys().cloned().collect();
    let required = key_object(&required);
    let mut parts = Vec::new();
    for (index, entity) in system.entities.iter().enumerate() {
        let live = match &entity.live_when {
            Some(condition) => format!(" WHERE ({condition})"),
            None => String::new(),
        };
        parts.push(format!(
            "SELECT 0 AS kind, {index} AS e, NULL::text AS t, {} AS k, NULL::jsonb AS d, \
             NULL::jsonb AS r, NULL::text AS w, 0::bigint AS o FROM {}{live}",
            key_object(&entity.key),
            quote_identifier(&entity.table)
        ));
    }
    match &system.tombstones.layout {
        Layout::Shared {
            table,
            table_column,
            key_column,
            data_column,
        } => {
            let data = match data_column {
                Some(c) => format!("to_jsonb({})", quote_identifier(c)),
                None => "NULL::jsonb".into(),
            };
            parts.push(format!(
                "SELECT 1, NULL, {}::text, to_jsonb({}), {data}, {required}, \"harnessOperation\", \"harnessWriteOrder\" FROM {}",
                quote_identifier(table_column),
                quote_identifier(key_column),
                quote_identifier(table)
            ));
        }
        Layout::PerTable => {
            for (index, entity) in system.entities.iter().enumerate() {
                if let Some(table) = &entity.tombstone_table {
                    parts.push(format!(
                        "SELECT 1, {index}, NULL, {}, NULL, {required}, \"harnessOperation\", \"harnessWriteOrder\" FROM {}",
                        key_object(&entity.key),
                        quote_identifier(table)
                    ));
                }
            }
        }
    }
    if system.tombstones_store_rows() {
        parts.push(
            "SELECT 2, entity, NULL, content, NULL, NULL, NULL, \"order\" FROM \"harnessDeleted\""
                .into(),
        );
    }
    format!("{}\nORDER BY kind, o", parts.join("\nUNION ALL "))
}

type Row = (
    i32,
    Option<i32>,
    Option<String>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<String>,
    Option<i64>,
);

pub(super) async fn read(conn: &mut PgConnection, sql: &str) -> Result<RawSnapshot, DbError> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| DbError::query("reading the final tables", e))?;
    let mut snapshot = RawSnapshot::default();
    for (kind, entity, table, key, data, required, writer, _) in rows {
        let entity = entity.map(|e| e as usize);
        let key = key.unwrap_or(serde_json::Value::Null);
        if kind == 0 {
            let entity = entity.expect("live rows carry their entity");
            snapshot.live.push(RawRow { entity, key });
        } else if kind == 2 {
            let entity = entity.expect("deleted rows carry their entity");
            snapshot.deleted.push(RawRow { entity, key });
        } else {
            snapshot.tombstones.push(RawTombstone {
                table,
                entity,
                key,
                data,
                required: required.unwrap_or(serde_json::Value::Null),
                writer,
            });
        }
    }
    Ok(snapshot)
}

//! Reading back what the database holds: live rows and tombstones, named by
//! the world's identities so oracles and stories never see UUIDs.

use super::DbError;
use crate::operation::OperationId;
use crate::world::{InvitationId, RowKey, TeamId, TokenId, UserId};
use sqlx::postgres::PgConnection;
use std::collections::BTreeSet;
use uuid::Uuid;

/// One `DeletedRow`, with the operation whose session wrote it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TombstoneRow {
    pub row: RowKey,
    pub writer: Option<OperationId>,
    pub primary_key: serde_json::Value,
    pub data: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub live: BTreeSet<RowKey>,
    /// In the order they were written.
    pub tombstones: Vec<TombstoneRow>,
}

const LIVE_SQL: &str = r#"
SELECT 'ProjectUser', "projectUserId", NULL::uuid FROM "ProjectUser"
UNION ALL SELECT 'ProjectUserRefreshToken', "id", NULL FROM "ProjectUserRefreshToken"
UNION ALL SELECT 'Team', "teamId", NULL FROM "Team"
UNION ALL SELECT 'TeamMember', "teamId", "projectUserId" FROM "TeamMember"
UNION ALL SELECT 'VerificationCode', "id", NULL FROM "VerificationCode""#;

const TOMBSTONES_SQL: &str = r#"
SELECT "tableName", "primaryKey", "data", "harnessOperation" FROM "DeletedRow" ORDER BY "harnessWriteOrder""#;

/// The world's number inside one of its derived UUIDs, if it is of `kind`.
fn number(uuid: Uuid, kind: u16) -> Option<u16> {
    let value = uuid.as_u128();
    (((value >> 80) & 0xffff) as u16 == kind).then_some((value & 0xffff) as u16)
}

fn row_of(table: &str, first: Uuid, second: Option<Uuid>) -> Option<RowKey> {
    Some(match table {
        "ProjectUser" => RowKey::User(UserId(number(first, 1)?)),
        "ProjectUserRefreshToken" => RowKey::Token(TokenId(number(first, 2)?)),
        "Team" => RowKey::Team(TeamId(number(first, 3)?)),
        "TeamMember" => RowKey::Member(TeamId(number(first, 3)?), UserId(number(second?, 1)?)),
        "VerificationCode" => RowKey::Invitation(InvitationId(number(first, 4)?)),
        _ => return None,
    })
}

fn key_uuid(key: &serde_json::Value, field: &str) -> Option<Uuid> {
    key.get(field)?.as_str()?.parse().ok()
}

/// The row a tombstone's `primaryKey` names.
fn tombstone_row(table: &str, key: &serde_json::Value) -> Option<RowKey> {
    match table {
        "ProjectUser" => row_of(table, key_uuid(key, "projectUserId")?, None),
        "Team" => row_of(table, key_uuid(key, "teamId")?, None),
        "TeamMember" => row_of(
            table,
            key_uuid(key, "teamId")?,
            key_uuid(key, "projectUserId"),
        ),
        _ => row_of(table, key_uuid(key, "id")?, None),
    }
}

pub async fn snapshot(conn: &mut PgConnection) -> Result<Snapshot, DbError> {
    let live_rows: Vec<(String, Uuid, Option<Uuid>)> = sqlx::query_as(LIVE_SQL)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| DbError::query("reading live rows", e))?;
    let mut live = BTreeSet::new();
    for (table, first, second) in live_rows {
        let row = row_of(&table, first, second).ok_or_else(|| DbError::Query {
            context: "reading live rows".into(),
            message: format!("a {table} row {first} is not one of the world's"),
        })?;
        live.insert(row);
    }
    let rows: Vec<(
        String,
        serde_json::Value,
        Option<serde_json::Value>,
        Option<String>,
    )> = sqlx::query_as(TOMBSTONES_SQL)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| DbError::query("reading tombstones", e))?;
    let mut tombstones = Vec::new();
    for (table, primary_key, data, writer) in rows {
        let row = tombstone_row(&table, &primary_key).ok_or_else(|| DbError::Query {
            context: "reading tombstones".into(),
            message: format!("a tombstone for {table} {primary_key} names no row of the world"),
        })?;
        let writer = writer
            .and_then(|w| w.strip_prefix("op")?.parse().ok())
            .map(OperationId);
        tombstones.push(TombstoneRow {
            row,
            writer,
            primary_key,
            data,
        });
    }
    Ok(Snapshot { live, tombstones })
}

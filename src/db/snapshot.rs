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

/// Live rows and tombstones in one round trip (it runs after every case):
/// live rows carry their key UUIDs, tombstones their JSON key, data and
/// writer; tombstones come last, in the order they were written.
const SNAPSHOT_SQL: &str = r#"
SELECT 'ProjectUser' AS t, "projectUserId" AS a, NULL::uuid AS b, NULL::jsonb AS k, NULL::jsonb AS d, NULL::text AS w, 0::bigint AS o FROM "ProjectUser"
UNION ALL SELECT 'ProjectUserRefreshToken', "id", NULL, NULL, NULL, NULL, 0 FROM "ProjectUserRefreshToken"
UNION ALL SELECT 'Team', "teamId", NULL, NULL, NULL, NULL, 0 FROM "Team"
UNION ALL SELECT 'TeamMember', "teamId", "projectUserId", NULL, NULL, NULL, 0 FROM "TeamMember"
UNION ALL SELECT 'VerificationCode', "id", NULL, NULL, NULL, NULL, 0 FROM "VerificationCode"
UNION ALL SELECT "tableName", NULL, NULL, "primaryKey", "data", "harnessOperation", "harnessWriteOrder" FROM "DeletedRow"
ORDER BY o"#;

type SnapshotRow = (
    String,
    Option<Uuid>,
    Option<Uuid>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<String>,
    i64,
);

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
    let rows: Vec<SnapshotRow> = sqlx::query_as(SNAPSHOT_SQL)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| DbError::query("reading the final tables", e))?;
    let mut snapshot = Snapshot::default();
    for (table, first, second, primary_key, data, writer, _) in rows {
        match (first, primary_key) {
            (Some(first), _) => {
                let row = row_of(&table, first, second).ok_or_else(|| DbError::Query {
                    context: "reading live rows".into(),
                    message: format!("a {table} row {first} is not one of the world's"),
                })?;
                snapshot.live.insert(row);
            }
            (None, Some(primary_key)) => {
                let row = tombstone_row(&table, &primary_key).ok_or_else(|| DbError::Query {
                    context: "reading tombstones".into(),
                    message: format!(
                        "a tombstone for {table} {primary_key} names no row of the world"
                    ),
                })?;
                let writer = writer
                    .and_then(|w| w.strip_prefix("op")?.parse().ok())
                    .map(OperationId);
                snapshot.tombstones.push(TombstoneRow {
                    row,
                    writer,
                    primary_key,
                    data,
                });
            }
            (None, None) => unreachable!("every snapshot row has a key"),
        }
    }
    Ok(snapshot)
}

//! What the harness asks the catalog about a system's schema, in the
//! current schema only: the triggers and rules of its own, which may write
//! rows no statement names, and its unique keys, which compare a written row
//! with rows no statement names.

use super::DbError;
use sqlx::postgres::PgConnection;

/// A unique index or exclusion constraint on one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniqueKey {
    pub table: String,
    /// Its key columns (not the `INCLUDE`d ones); `None` for an exclusion
    /// constraint or an index on expressions, which may compare rows on
    /// anything.
    pub columns: Option<Vec<String>>,
    /// Key columns an INSERT that leaves them out fills with NULL (no
    /// default, not an identity or generated column): such a row conflicts
    /// with none. Empty where the index takes NULLs as equal.
    pub null_when_left_out: Vec<String>,
}

/// The schema's own triggers and rules (`table.name`), the harness's left
/// out.
pub(super) async fn side_effects(conn: &mut PgConnection) -> Result<Vec<String>, DbError> {
    sqlx::query_scalar(
        "SELECT c.relname || '.' || t.tgname FROM pg_trigger t \
         JOIN pg_class c ON c.oid = t.tgrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT t.tgisinternal AND t.tgname NOT LIKE 'harness%' \
           AND n.nspname = current_schema() \
         UNION ALL \
         SELECT tablename || '.' || rulename FROM pg_rules \
         WHERE schemaname = current_schema() \
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .map_err(|e| DbError::query("listing the schema's triggers and rules", e))
}

/// Every unique key of the schema's tables. `indnullsnotdistinct` is read
/// through jsonb so that a server without it (before 15) reads as false.
pub(super) async fn unique_keys(conn: &mut PgConnection) -> Result<Vec<UniqueKey>, DbError> {
    let rows: Vec<(String, bool, Vec<String>, Vec<String>)> = sqlx::query_as(
        "SELECT c.relname::text, \
                i.indisexclusion OR i.indexprs IS NOT NULL OR bool_or(k.attnum = 0), \
                COALESCE(array_agg(a.attname::text ORDER BY k.n) \
                         FILTER (WHERE a.attname IS NOT NULL), '{}'), \
                CASE WHEN COALESCE((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false) \
                     THEN '{}'::text[] \
                     ELSE COALESCE(array_agg(a.attname::text ORDER BY k.n) \
                          FILTER (WHERE NOT a.atthasdef AND a.attidentity = '' \
                                  AND a.attgenerated = ''), '{}') END \
         FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
         WHERE (i.indisunique OR i.indisexclusion) AND n.nspname = current_schema() \
           AND k.n <= i.indnkeyatts \
         GROUP BY i.indexrelid, c.relname, i.indisexclusion, i.indexprs, to_jsonb(i) \
         ORDER BY 1, 3",
    )
    .fetch_all(conn)
    .await
    .map_err(|e| DbError::query("listing the schema's unique keys", e))?;
    Ok(rows
        .into_iter()
        .map(|(table, opaque, columns, null_when_left_out)| UniqueKey {
            table,
            columns: (!opaque).then_some(columns),
            null_when_left_out,
        })
        .collect())
}

//! Writing a world into a database, and clearing it for the next case, each
//! in one round trip (a reset by DELETE costs ~0.7 ms; TRUNCATE 3–25 ms),
//! and the harness's own additions to a system's schema.

use super::snapshot::{RawSnapshot, snapshot_sql};
use super::{Connector, DbError};
use crate::case::Case;
use crate::system::System;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Executor};

/// Every tombstone records which operation wrote it (kvnemesis's lesson):
/// each session's `application_name` is its operation id, so an
/// implementation file needs no harness-specific SQL to be attributable.
/// The write order comes from one sequence shared by every tombstone table,
/// stable across runs of one schedule.
///
/// Where a tombstone holds the deleted row, a trigger keeps what each
/// tracked row held when it was deleted (`harnessDeleted`), so the oracle
/// can compare the two column by column. It only inserts into a table of
/// its own, so it takes no lock an implementation's statements could meet.
pub fn harness_sql(system: &System) -> String {
    let mut sql = String::from("CREATE SEQUENCE \"harnessWriteOrder\";\n");
    if system.tombstones_store_rows() {
        sql.push_str(DELETED_SQL);
        for (index, entity) in system.entities.iter().enumerate() {
            if entity.tracked {
                // Not for the control connection's reset: those rows are
                // the last case's, and a PL/pgSQL call per row is wasted
                // there.
                sql.push_str(&format!(
                    "CREATE TRIGGER \"harnessDeleted\" AFTER DELETE ON {} FOR EACH ROW \
                     WHEN (current_setting('application_name', true) IS DISTINCT FROM '{CONTROL}') \
                     EXECUTE FUNCTION \"harnessKeepDeleted\"('{index}');\n",
                    quote_identifier(&entity.table)
                ));
            }
        }
    }
    sql.push_str(&reset_function(system));
    for table in system.tombstone_tables() {
        sql.push_str(&format!(
            "ALTER TABLE {} ADD COLUMN \"harnessOperation\" text DEFAULT current_setting('application_name', true), \
             ADD COLUMN \"harnessWriteOrder\" bigint DEFAULT nextval('\"harnessWriteOrder\"');\n",
            quote_identifier(&table)
        ));
    }
    sql
}

const DELETED_SQL: &str =
    "CREATE TABLE \"harnessDeleted\" (entity int NOT NULL, content jsonb NOT NULL, \
     \"order\" bigserial);
CREATE FUNCTION \"harnessKeepDeleted\"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO \"harnessDeleted\" (entity, content) VALUES (TG_ARGV[0]::int, to_jsonb(OLD));
  RETURN NULL;
END $$;
";

/// Every table a case writes, quoted: the system's tables, children first,
/// and what the last case's operations deleted (the reset itself does not
/// fire the capture trigger). The reset empties them; the vacuum cleans them.
fn case_tables(system: &System) -> Vec<String> {
    let mut tables = system.tables_to_reset();
    if system.tombstones_store_rows() {
        tables.push("harnessDeleted".into());
    }
    tables.iter().map(|t| quote_identifier(t)).collect()
}

/// Clearing every table between cases, as a function: PL/pgSQL keeps the
/// plans of its statements, where the same statements sent as text are
/// parsed and planned again for every case.
fn reset_function(system: &System) -> String {
    let body: String = case_tables(system)
        .iter()
        .map(|t| format!("  DELETE FROM {t};\n"))
        .collect();
    format!(
        "CREATE FUNCTION \"harnessReset\"() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n{body}END $$;\n"
    )
}

/// `"Name"`, with inner quotes doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The SQL that makes the case's world the database's only content. Every
/// value is derived by the harness or written in the system's file, so
/// literals are safe here.
pub fn world_sql(case: &Case) -> String {
    let system = &case.system;
    let mut sql = String::from("SELECT \"harnessReset\"();\n");
    for row in case.world.rows() {
        let entity = &system.entities[row.key.entity];
        let columns: Vec<String> = entity
            .columns
            .iter()
            .map(|(c, _)| quote_identifier(c))
            .collect();
        let values: Vec<String> = entity
            .columns
            .iter()
            .map(|(_, template)| system.column_sql(row, template))
            .collect();
        sql.push_str(&format!(
            "INSERT INTO {} ({}) VALUES ({});\n",
            quote_identifier(&entity.table),
            columns.join(", "),
            values.join(", ")
        ));
    }
    sql
}

/// The `application_name` of the harness's own connection.
pub const CONTROL: &str = "harness-control";

/// The harness's own connection to a database: seeds worlds and reads
/// snapshots, never runs an operation's statements.
pub struct Control {
    conn: PgConnection,
    /// The snapshot query of the last system seen (built once per system).
    snapshot: Option<(String, String)>,
    /// Cases seeded since the harness last vacuumed its tables.
    seeded_since_vacuum: u32,
}

/// How many cases are seeded between two vacuums of the harness's tables.
/// Every case deletes what the last one left, and until a vacuum marks that
/// space free, new rows go to fresh pages at the end: the reset's DELETEs
/// and every snapshot then scan a table that grows with the run (Stack
/// Auth's tombstone table passed 500 pages within a minute of stress,
/// where autovacuum had not come by). Emptied, the tables vacuum in a few
/// milliseconds and shrink back to a page or two. Every 10 cases cost more
/// than it saved, every 200 gave less than every 50 (BENCHMARKS.md).
pub const VACUUM_EVERY: u32 = 50;

impl Control {
    pub async fn open(connector: &Connector) -> Result<Control, DbError> {
        Ok(Control {
            conn: connector.connect(CONTROL).await?,
            snapshot: None,
            seeded_since_vacuum: 0,
        })
    }

    /// Replaces whatever the database holds with the case's world.
    pub async fn seed(&mut self, case: &Case) -> Result<(), DbError> {
        self.seeded_since_vacuum += 1;
        if self.seeded_since_vacuum >= VACUUM_EVERY {
            self.seeded_since_vacuum = 0;
            self.vacuum(&case.system).await?;
        }
        self.conn
            .execute(sqlx::raw_sql(AssertSqlSafe(world_sql(case))))
            .await
            .map_err(|e| DbError::query("seeding the world", e))?;
        Ok(())
    }

    /// Empties the harness's tables and vacuums them, so their dead rows'
    /// space is reused and their empty pages go (see `VACUUM_EVERY`). A
    /// separate statement: VACUUM cannot run in a multi-statement string.
    async fn vacuum(&mut self, system: &System) -> Result<(), DbError> {
        self.conn
            .execute("SELECT \"harnessReset\"()")
            .await
            .map_err(|e| DbError::query("emptying the tables to vacuum them", e))?;
        let tables = case_tables(system).join(", ");
        self.conn
            .execute(sqlx::raw_sql(AssertSqlSafe(format!("VACUUM {tables}"))))
            .await
            .map_err(|e| DbError::query("vacuuming the harness's tables", e))?;
        Ok(())
    }

    /// The schema's own triggers and rules (`table.name`), the harness's
    /// left out: they may write rows no statement's SQL names.
    pub async fn side_effects(&mut self) -> Result<Vec<String>, DbError> {
        super::catalog::side_effects(&mut self.conn).await
    }

    /// The unique keys of the schema's tables.
    pub async fn unique_keys(&mut self) -> Result<Vec<super::UniqueKey>, DbError> {
        super::catalog::unique_keys(&mut self.conn).await
    }

    pub async fn snapshot(&mut self, system: &System) -> Result<RawSnapshot, DbError> {
        let cached = self
            .snapshot
            .as_ref()
            .filter(|(name, _)| name == &system.name);
        let sql = match cached {
            Some((_, sql)) => sql.clone(),
            None => {
                let sql = snapshot_sql(system);
                self.snapshot = Some((system.name.clone(), sql.clone()));
                sql
            }
        };
        super::snapshot::read(&mut self.conn, &sql).await
    }
}

#[cfg(test)]
mod tests {
    use super::harness_sql;
    use crate::system::System;

    fn capture_triggers(sql: &str) -> usize {
        sql.matches("CREATE TRIGGER \"harnessDeleted\" AFTER DELETE")
            .count()
    }

    /// docs/systems.md: only a layout whose tombstones hold the row pays
    /// for keeping deleted rows, once per tracked table.
    #[test]
    fn deleted_rows_are_kept_only_where_tombstones_hold_the_row() {
        let stack_auth = System::load("stack-auth").expect("stack-auth ships");
        let tracked = stack_auth.entities.iter().filter(|e| e.tracked).count();
        assert!(tracked >= 4, "stack-auth tracks {tracked} tables");
        assert_eq!(capture_triggers(&harness_sql(&stack_auth)), tracked);
        let blog = System::load("blog").expect("blog ships");
        assert!(!blog.tombstones_store_rows());
        let sql = harness_sql(&blog);
        assert_eq!(capture_triggers(&sql), 0);
        assert!(!sql.contains("harnessKeepDeleted"), "{sql}");
    }
}

//! Systems as data: everything about one application's schema and recorder
//! that the harness must know, read from a directory
//! (`fixtures/systems/NAME/`): its SQL schema, the tables whose deletes must
//! be recorded, where and how a delete is recorded (the tombstone layout),
//! the rows a world is made of, the operations clients perform, the
//! implementations of those operations and the reference one.
//!
//! Owns: the `system.toml` format and its validation (every error one line
//! naming file, section and field, found before any connection is made).
//! Must not know: connections, schedules, oracles. No other module names a
//! system's tables: they ask a [`System`].

mod file;
mod identity;
mod shipped;
mod template;

pub use template::{Part, Template};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The system commands use when none is named.
pub const DEFAULT: &str = "stack-auth";

#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "unknown system {name}: name a shipped one ({shipped}) or a directory holding system.toml"
    )]
    Unknown { name: String, shipped: String },
}

/// The SQL type of a value the harness binds or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SqlType {
    Uuid,
    Text,
    Int,
}

impl SqlType {
    pub fn parse(text: &str) -> Result<SqlType, String> {
        match text {
            "uuid" => Ok(SqlType::Uuid),
            "text" => Ok(SqlType::Text),
            "int" | "bigint" | "integer" => Ok(SqlType::Int),
            other => Err(format!(
                "{} is not a type: expected uuid, text or int",
                crate::text::quoted(other)
            )),
        }
    }

    /// The cast a placeholder of this type gets, so PostgreSQL never guesses.
    pub fn cast(self) -> &'static str {
        match self {
            SqlType::Uuid => "uuid",
            SqlType::Text => "text",
            SqlType::Int => "bigint",
        }
    }
}

/// A value every operation may use, `:name` in SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constant {
    pub sql_type: SqlType,
    pub value: String,
}

/// Where deletes are recorded.
#[derive(Clone, Debug, PartialEq)]
pub enum Layout {
    /// One table for every tracked table: a column names the source table,
    /// a jsonb column holds the deleted row's key, another optionally the row.
    Shared {
        table: String,
        table_column: String,
        key_column: String,
        data_column: Option<String>,
    },
    /// One tombstone table per tracked table, holding the key columns
    /// under the source's names (the table is named on each entity).
    PerTable,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tombstones {
    pub layout: Layout,
    /// Columns every tombstone must hold with exactly this value (a
    /// tombstone the sync will not pick up is as bad as none).
    pub required: BTreeMap<String, serde_json::Value>,
}

/// One kind of row of the world.
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub name: String,
    /// What stories print before the number: `t` makes token `t2`.
    pub prefix: String,
    pub table: String,
    /// The type of the row's own identity; `None` for a row named by its
    /// parents alone (a membership).
    pub id: Option<SqlType>,
    /// Entities this one belongs to, by index into [`System::entities`].
    pub parents: Vec<usize>,
    /// How many rows a generated world has: in all for an entity without
    /// parents, per parent for one with a parent, and 0/1 per combination of
    /// parents for one with several.
    pub count: (u8, u8),
    /// Whether deletes of it must be recorded.
    pub tracked: bool,
    /// Foreign keys to its parents with ON DELETE CASCADE: a statement on a
    /// parent may touch these rows (and inserting one locks its parents).
    pub cascade: bool,
    pub key: Vec<String>,
    pub columns: Vec<(String, Template)>,
    /// The per-table layout's tombstone table for this entity.
    pub tombstone_table: Option<String>,
    /// For soft deletes: a row is live only while this SQL condition holds
    /// (`cancelled_at IS NULL`); a row that no longer meets it is deleted.
    pub live_when: Option<String>,
    /// UUID kind number (identities of different entities never collide).
    pub ordinal: u16,
}

/// Where an operation's argument comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Any row of the entity in the world.
    Any,
    /// A row of the entity whose parent is the argument at this index.
    ChildOf(usize),
    /// The parent (of this entity) of the argument at this index.
    ParentOf(usize),
    /// A row this operation creates, belonging to the argument at this index.
    New(Option<usize>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterSpec {
    pub name: String,
    pub entity: usize,
    pub source: Source,
    /// When no row fits, name one that never existed instead of falling back.
    pub missing: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OperationSpec {
    pub name: String,
    pub weight: u32,
    pub parameters: Vec<ParameterSpec>,
    /// What the operation becomes when the world has no row for it.
    pub otherwise: Option<String>,
    /// What shrinking tries in its place.
    pub plainer: Option<String>,
    pub describe: String,
    /// The parameter (index) naming the row the operation is about.
    pub target: usize,
}

/// A system's own name for a finding, on top of the harness's.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub name: String,
    pub title: String,
    pub rule: LabelRule,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LabelRule {
    /// A 5xx of one of `operations` at a step that records tombstones, for
    /// the row its parameter `row` names, whose tombstone one of
    /// `recorded_by` wrote.
    ServerErrorAtRecord {
        operations: Vec<String>,
        row: String,
        recorded_by: Vec<String>,
    },
}

/// Where a system came from: shipped inside the binary, or a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Shipped,
    Directory(PathBuf),
}

/// A file of a system: its path relative to the system's directory, and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemFile {
    pub path: String,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct System {
    pub name: String,
    pub description: String,
    pub origin: Origin,
    pub schema_sql: String,
    pub reference: String,
    pub constants: BTreeMap<String, Constant>,
    pub tombstones: Tombstones,
    pub entities: Vec<Entity>,
    pub operations: BTreeMap<String, OperationSpec>,
    /// Operation names in the order `system.toml` declares them.
    pub operation_order: Vec<String>,
    /// The world of the one-operation-alone table, in its text form.
    pub solo_world: String,
    pub labels: Vec<Label>,
    /// The system's names for the harness's anomalies (e.g. `duplicate = "B"`).
    pub names: BTreeMap<String, String>,
    /// `implementations/*.toml`, by file name.
    pub implementations: Vec<SystemFile>,
    /// `scenarios/*.json`.
    pub scenarios: Vec<SystemFile>,
    /// `counterexamples/*.json`.
    pub counterexamples: Vec<SystemFile>,
}

impl System {
    /// A shipped system by name, or a directory (or its `system.toml`).
    pub fn load(name_or_path: &str) -> Result<Arc<System>, SystemError> {
        if let Some(files) = shipped::files(name_or_path) {
            return file::parse(name_or_path, Origin::Shipped, files).map(Arc::new);
        }
        let mut path = PathBuf::from(name_or_path);
        if path.file_name().is_some_and(|f| f == "system.toml") {
            path.pop();
        }
        if path.join("system.toml").is_file() {
            return System::load_dir(&path).map(Arc::new);
        }
        Err(SystemError::Unknown {
            name: crate::text::quoted(name_or_path),
            shipped: shipped::names().join(", "),
        })
    }

    pub fn load_dir(dir: &Path) -> Result<System, SystemError> {
        let files = read_dir_files(dir)?;
        file::parse(
            &dir.display().to_string(),
            Origin::Directory(dir.to_path_buf()),
            files,
        )
    }

    /// How errors name the system's directory.
    pub fn label(&self) -> String {
        match &self.origin {
            Origin::Shipped => format!("{} (shipped)", self.name),
            Origin::Directory(dir) => dir.display().to_string(),
        }
    }

    /// Whether every table and column the system names exists in the
    /// loaded schema (`columns`: table and column names); the first
    /// mismatch as "entity 'x', field 'y': …".
    pub fn check_schema(&self, columns: &[(String, String)]) -> Result<(), String> {
        let has_table = |t: &str| columns.iter().any(|(table, _)| table == t);
        let has = |t: &str, c: &str| {
            columns
                .iter()
                .any(|(table, column)| table == t && column == c)
        };
        for entity in &self.entities {
            let at = |field: &str, why: String| {
                format!("entity '{}', field '{field}': {why}", entity.name)
            };
            if !has_table(&entity.table) {
                return Err(at(
                    "table",
                    format!("the schema has no table {}", entity.table),
                ));
            }
            for (column, _) in &entity.columns {
                if !has(&entity.table, column) {
                    return Err(at(
                        "columns",
                        format!("table {} has no column '{column}'", entity.table),
                    ));
                }
            }
            if let Some(tombstones) = &entity.tombstone_table {
                if !has_table(tombstones) {
                    return Err(at(
                        "tombstone_table",
                        format!("the schema has no table {tombstones}"),
                    ));
                }
                if let Some(column) = entity.key.iter().find(|c| !has(tombstones, c)) {
                    return Err(at(
                        "key",
                        format!("its tombstone table {tombstones} has no column '{column}'"),
                    ));
                }
            }
        }
        let shared = match &self.tombstones.layout {
            Layout::Shared {
                table,
                table_column,
                key_column,
                data_column,
            } => {
                let named = [
                    ("table_column", Some(table_column)),
                    ("key_column", Some(key_column)),
                    ("data_column", data_column.as_ref()),
                ];
                for (field, column) in named {
                    if let Some(column) = column.filter(|c| !has(table, c)) {
                        return Err(format!(
                            "section 'tombstones', field '{field}': table {table} has no column '{column}'"
                        ));
                    }
                }
                vec![table.clone()]
            }
            Layout::PerTable => self.tombstone_tables(),
        };
        for table in shared {
            if !has_table(&table) {
                return Err(format!(
                    "section 'tombstones', field 'table': the schema has no table {table}"
                ));
            }
            if let Some(column) = self.tombstones.required.keys().find(|c| !has(&table, c)) {
                return Err(format!(
                    "section 'tombstones', field 'required': table {table} has no column '{column}'"
                ));
            }
        }
        Ok(())
    }

    /// How files name this system: its name if shipped, else its directory.
    pub fn reference_name(&self) -> String {
        match &self.origin {
            Origin::Shipped => self.name.clone(),
            Origin::Directory(dir) => dir.display().to_string(),
        }
    }

    /// The names of the systems shipped inside the binary.
    pub fn shipped_names() -> Vec<&'static str> {
        shipped::names()
    }

    pub fn entity(&self, name: &str) -> Option<usize> {
        self.entities.iter().position(|e| e.name == name)
    }

    pub fn operation(&self, name: &str) -> Option<&OperationSpec> {
        self.operations.get(name)
    }

    /// The entity whose rows live in `table`.
    pub fn entity_of_table(&self, table: &str) -> Option<usize> {
        self.entities.iter().position(|e| e.table == table)
    }

    /// Every table the harness clears between cases, children before
    /// parents and tombstones first, so foreign keys never object.
    pub fn tables_to_reset(&self) -> Vec<String> {
        let mut tables = self.tombstone_tables();
        tables.extend(self.entities.iter().rev().map(|e| e.table.clone()));
        tables
    }

    /// Whether a tombstone holds the deleted row (`data_column`): then the
    /// harness keeps what each deleted row held, to compare.
    pub fn tombstones_store_rows(&self) -> bool {
        matches!(
            self.tombstones.layout,
            Layout::Shared {
                data_column: Some(_),
                ..
            }
        )
    }

    /// The tables where tombstones are written.
    pub fn tombstone_tables(&self) -> Vec<String> {
        match &self.tombstones.layout {
            Layout::Shared { table, .. } => vec![table.clone()],
            Layout::PerTable => self
                .entities
                .iter()
                .filter_map(|e| e.tombstone_table.clone())
                .collect(),
        }
    }

    /// The names (file stems) of files in one of the system's folders.
    pub fn stems(files: &[SystemFile]) -> Vec<String> {
        files
            .iter()
            .filter_map(|f| Path::new(&f.path).file_stem())
            .map(|s| s.to_string_lossy().to_string())
            .collect()
    }

    /// The shipped implementation text of `name`, if the system has one.
    pub fn implementation_file(&self, name: &str) -> Option<&SystemFile> {
        self.implementations
            .iter()
            .find(|f| Path::new(&f.path).file_stem().is_some_and(|s| s == name))
    }

    /// What people of this system call an anomaly of the harness.
    pub fn name_of(&self, anomaly: &str) -> String {
        self.names
            .get(anomaly)
            .cloned()
            .unwrap_or_else(|| anomaly.to_string())
    }
}

/// `system.toml`, the schema files and the files of the known folders.
fn read_dir_files(dir: &Path) -> Result<Vec<SystemFile>, SystemError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| SystemError::Read {
            file: path.display().to_string(),
            source,
        })
    };
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|source| SystemError::Read {
        file: dir.display().to_string(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    for folder in ["implementations", "scenarios", "counterexamples"] {
        if let Ok(inner) = std::fs::read_dir(dir.join(folder)) {
            paths.extend(inner.filter_map(|e| e.ok().map(|e| e.path())));
        }
    }
    paths.sort();
    for path in paths {
        let keep = path
            .extension()
            .is_some_and(|e| e == "toml" || e == "sql" || e == "json");
        if !keep || !path.is_file() {
            continue;
        }
        let relative = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        files.push(SystemFile {
            path: relative,
            text: read(&path)?,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_systems_load() {
        for name in System::shipped_names() {
            let system = System::load(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(system.name, name);
            assert!(system.implementation_file(&system.reference).is_some());
        }
        let stack = System::load(DEFAULT).unwrap();
        assert_eq!(stack.entities.len(), 5);
        assert_eq!(stack.operations.len(), 8);
    }
}

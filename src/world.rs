//! The world a case starts from: rows of the system's entities, each a small
//! integer identity with its parents, as plain data.
//!
//! Owns: row identities (`token t2`), parent relations, the compact text
//! form (`u1 t1(u1) team1 m1(team1,u1)`) and the JSON form of case files.
//! Must not know: SQL, sessions, schedules. Identities are small integers so
//! that stories read "token t2"; the values written to the database are
//! derived from them by the [`System`] (never random), so two runs of one
//! case write the same rows.

use crate::system::System;
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A row the harness tracks: an entity (by index into the system's) and a
/// number, printed the way stories and verdicts name it (`token t2`).
#[derive(Clone, Debug)]
pub struct RowKey {
    pub entity: usize,
    pub number: u16,
    entity_name: Arc<str>,
    prefix: Arc<str>,
}

impl RowKey {
    pub fn new(system: &System, entity: usize, number: u16) -> RowKey {
        let e = &system.entities[entity];
        RowKey {
            entity,
            number,
            entity_name: Arc::from(e.name.as_str()),
            prefix: Arc::from(e.prefix.as_str()),
        }
    }

    /// `t2`: what a world's text form and operation descriptions print.
    pub fn short(&self) -> String {
        format!("{}{}", self.prefix, self.number)
    }

    pub fn entity_name(&self) -> &str {
        &self.entity_name
    }
}

impl PartialEq for RowKey {
    fn eq(&self, other: &Self) -> bool {
        (self.entity, self.number) == (other.entity, other.number)
    }
}
impl Eq for RowKey {}
impl PartialOrd for RowKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RowKey {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.entity, self.number).cmp(&(other.entity, other.number))
    }
}
impl Hash for RowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.entity, self.number).hash(state);
    }
}

impl fmt::Display for RowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}{}", self.entity_name, self.prefix, self.number)
    }
}

impl Serialize for RowKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One row of a world, with its parents in the order the entity names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldRow {
    pub key: RowKey,
    pub parents: Vec<RowKey>,
}

/// The starting state of one case: rows in (entity, number) order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct World {
    rows: Vec<WorldRow>,
}

impl World {
    pub fn new(mut rows: Vec<WorldRow>) -> World {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        World { rows }
    }

    pub fn rows(&self) -> &[WorldRow] {
        &self.rows
    }

    /// Every row the world starts with, in a stable order.
    pub fn keys(&self) -> Vec<RowKey> {
        self.rows.iter().map(|r| r.key.clone()).collect()
    }

    pub fn row(&self, key: &RowKey) -> Option<&WorldRow> {
        self.rows.iter().find(|r| &r.key == key)
    }

    pub fn of_entity(&self, entity: usize) -> impl Iterator<Item = &WorldRow> {
        self.rows.iter().filter(move |r| r.key.entity == entity)
    }

    /// The rows of `entity` that belong to `parent`.
    pub fn children(&self, entity: usize, parent: &RowKey) -> Vec<RowKey> {
        self.of_entity(entity)
            .filter(|r| r.parents.contains(parent))
            .map(|r| r.key.clone())
            .collect()
    }

    /// The first number of `entity` no row of this world uses.
    pub fn next_number(&self, entity: usize) -> u16 {
        self.of_entity(entity)
            .map(|r| r.key.number)
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Checks the world is well formed: unique rows, parents that exist and
    /// are of the entities the system says.
    pub fn validate(&self, system: &System) -> Result<(), String> {
        for (i, row) in self.rows.iter().enumerate() {
            if self.rows[..i].iter().any(|r| r.key == row.key) {
                return Err(format!("{} appears twice", row.key));
            }
            let expected = &system.entities[row.key.entity].parents;
            let kinds: Vec<usize> = row.parents.iter().map(|p| p.entity).collect();
            if &kinds != expected {
                return Err(format!(
                    "{} must name its parents in the system's order",
                    row.key
                ));
            }
            if let Some(p) = row.parents.iter().find(|p| self.row(p).is_none()) {
                return Err(format!(
                    "{} belongs to {p}, which is not in the world",
                    row.key
                ));
            }
            if row.parents.len() > 1 {
                let twin = self.rows[..i]
                    .iter()
                    .any(|r| r.key.entity == row.key.entity && r.parents == row.parents);
                if twin {
                    return Err(format!("{} joins the same rows as another", row.key));
                }
            }
        }
        Ok(())
    }

    /// Reads the text form: rows separated by spaces or `;`, each a label
    /// with its parents in parentheses: `u1 t1(u1) team1 m1(team1,u1)`.
    pub fn parse(system: &System, text: &str) -> Result<World, String> {
        let mut rows = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let end = match (
                rest.find('('),
                rest.find(|c: char| c.is_whitespace() || c == ';'),
            ) {
                (Some(open), Some(space)) if open < space => {
                    rest[open..].find(')').map(|c| open + c + 1)
                }
                (Some(open), None) => rest[open..].find(')').map(|c| open + c + 1),
                (_, Some(space)) => Some(space),
                (None, None) => Some(rest.len()),
            }
            .ok_or_else(|| format!("a ( is never closed in {}", crate::text::quoted(rest)))?;
            rows.push(parse_row(system, &rest[..end])?);
            rest = rest[end..].trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        }
        let world = World::new(rows);
        world.validate(system)?;
        Ok(world)
    }

    /// The JSON form of case files: per entity, its rows' numbers with
    /// their parents' (`"token": [{"id": 1, "user": 1}]`).
    pub fn to_json(&self, system: &System) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (index, entity) in system.entities.iter().enumerate() {
            let rows: Vec<serde_json::Value> = self
                .of_entity(index)
                .map(|row| {
                    if row.parents.is_empty() {
                        return serde_json::json!(row.key.number);
                    }
                    let mut fields = serde_json::Map::new();
                    fields.insert("id".into(), row.key.number.into());
                    for parent in &row.parents {
                        fields.insert(parent.entity_name().to_string(), parent.number.into());
                    }
                    serde_json::Value::Object(fields)
                })
                .collect();
            if !rows.is_empty() {
                map.insert(entity.name.clone(), rows.into());
            }
        }
        serde_json::Value::Object(map)
    }

    pub fn from_json(system: &System, value: &serde_json::Value) -> Result<World, String> {
        let map = value
            .as_object()
            .ok_or("the world is not an object of entities")?;
        let mut rows = Vec::new();
        for (name, list) in map {
            let entity = system.entity(name).ok_or_else(|| {
                format!(
                    "{} is not an entity of system {}",
                    crate::text::quoted(name),
                    system.name
                )
            })?;
            let list = list
                .as_array()
                .ok_or_else(|| format!("world.{name} is not a list"))?;
            for item in list {
                rows.push(
                    row_from_json(system, entity, item)
                        .map_err(|e| format!("world.{name}: {e}"))?,
                );
            }
        }
        let world = World::new(rows);
        world.validate(system)?;
        Ok(world)
    }
}

fn number(value: &serde_json::Value) -> Result<u16, String> {
    value
        .as_u64()
        .and_then(|n| u16::try_from(n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{value} is not a row number (1 to 65535)"))
}

fn row_from_json(
    system: &System,
    entity: usize,
    item: &serde_json::Value,
) -> Result<WorldRow, String> {
    let spec = &system.entities[entity];
    let (id, fields) = match item {
        serde_json::Value::Object(fields) => (
            number(fields.get("id").ok_or("a row without \"id\"")?)?,
            Some(fields),
        ),
        other => (number(other)?, None),
    };
    let mut parents = Vec::new();
    for &parent in &spec.parents {
        let name = &system.entities[parent].name;
        let value = fields
            .and_then(|f| f.get(name))
            .ok_or_else(|| format!("row {id} names no {name}"))?;
        parents.push(RowKey::new(system, parent, number(value)?));
    }
    let known =
        |k: &&String| *k == "id" || spec.parents.iter().any(|&p| &system.entities[p].name == *k);
    if let Some(extra) = fields.and_then(|f| f.keys().find(|k| !known(k))) {
        return Err(format!(
            "row {id}: unknown field {}",
            crate::text::quoted(extra)
        ));
    }
    Ok(WorldRow {
        key: RowKey::new(system, entity, id),
        parents,
    })
}

/// `t2` or `m1(team1,u1)`.
fn parse_row(system: &System, text: &str) -> Result<WorldRow, String> {
    let (label, parents) = match text.find('(') {
        Some(open) => (&text[..open], Some(text[open + 1..text.len() - 1].trim())),
        None => (text, None),
    };
    let key = parse_label(system, label)?;
    let parents: Vec<RowKey> = match parents {
        Some(list) if !list.is_empty() => list
            .split(',')
            .map(|p| parse_label(system, p.trim()))
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    Ok(WorldRow { key, parents })
}

/// `t2` → token 2, by the entity's prefix.
pub fn parse_label(system: &System, label: &str) -> Result<RowKey, String> {
    let split = label
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(label.len());
    let (prefix, digits) = label.split_at(split);
    let entity = system
        .entities
        .iter()
        .position(|e| e.prefix == prefix)
        .ok_or_else(|| {
            format!(
                "{} names no entity (prefixes: {})",
                crate::text::quoted(label),
                prefixes(system)
            )
        })?;
    let number: u16 = digits
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{} has no row number", crate::text::quoted(label)))?;
    Ok(RowKey::new(system, entity, number))
}

fn prefixes(system: &System) -> String {
    let list: Vec<&str> = system.entities.iter().map(|e| e.prefix.as_str()).collect();
    list.join(", ")
}

impl World {
    /// The text form, which [`World::parse`] reads back.
    pub fn text(&self) -> String {
        let parts: Vec<String> = self
            .rows
            .iter()
            .map(|row| {
                if row.parents.is_empty() {
                    row.key.short()
                } else {
                    let parents: Vec<String> = row.parents.iter().map(RowKey::short).collect();
                    format!("{}({})", row.key.short(), parents.join(","))
                }
            })
            .collect();
        parts.join(" ")
    }

    /// Rows counted per entity name, for summaries.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for row in &self.rows {
            *counts.entry(row.key.entity_name().to_string()).or_insert(0) += 1;
        }
        counts
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

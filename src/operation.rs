//! The actions clients take, each with its arguments and an operation id.
//!
//! Owns: an action as data (the system's operation name and one row per
//! declared parameter), its description and its JSON form, and the values
//! its SQL parameters take. Must not know: SQL text, sessions, how
//! operations are scheduled. Which operations exist is the system's word.

use crate::system::{Source, SqlType, System};
use crate::world::{RowKey, WorldRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

/// The position of an operation in its case; also its session's
/// `application_name` (`op1`, `op2`, …), so every tombstone it writes is
/// attributable to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OperationId(pub u16);

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op{}", self.0)
    }
}

/// A parameter's value, bound as text and cast in SQL.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Uuid(Uuid),
    Text(String),
    Int(i64),
}

impl Value {
    pub fn as_text(&self) -> String {
        match self {
            Value::Uuid(u) => u.to_string(),
            Value::Text(t) => t.clone(),
            Value::Int(i) => i.to_string(),
        }
    }

    /// The value as `jsonb_build_object` would store it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(i) => (*i).into(),
            other => other.as_text().into(),
        }
    }

    /// A SQL literal of the value, for the harness's own seeding SQL.
    pub fn literal(&self) -> String {
        match self {
            Value::Uuid(u) => format!("'{u}'::uuid"),
            Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
            Value::Int(i) => i.to_string(),
        }
    }

    pub fn of_type(sql_type: SqlType, text: &str) -> Value {
        match sql_type {
            SqlType::Uuid => Value::Uuid(text.parse().expect("validated when the system loaded")),
            SqlType::Text => Value::Text(text.to_string()),
            SqlType::Int => Value::Int(text.parse().expect("validated when the system loaded")),
        }
    }
}

/// What a client asks for: one of the system's operations, with a row for
/// each parameter it declares (in its order).
#[derive(Clone, Debug)]
pub struct Action {
    pub kind: String,
    pub arguments: Vec<RowKey>,
    description: String,
}

impl PartialEq for Action {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.arguments == other.arguments
    }
}
impl Eq for Action {}

impl Action {
    /// Panics on arguments that do not fit the declaration: actions are made
    /// by the generator or read by [`Action::from_json`], which check.
    pub fn new(system: &System, kind: &str, arguments: Vec<RowKey>) -> Action {
        let spec = system.operation(kind).unwrap_or_else(|| {
            panic!("harness bug: {kind} is not an operation of {}", system.name)
        });
        assert_eq!(
            spec.parameters.len(),
            arguments.len(),
            "harness bug: arguments of {kind}"
        );
        let mut description = spec.describe.clone();
        for (parameter, row) in spec.parameters.iter().zip(&arguments) {
            description = description.replace(&format!("{{{}}}", parameter.name), &row.short());
        }
        Action {
            kind: kind.to_string(),
            arguments,
            description,
        }
    }

    /// The row of parameter `name`.
    pub fn argument(&self, system: &System, name: &str) -> Option<&RowKey> {
        let spec = system.operation(&self.kind)?;
        let index = spec.parameters.iter().position(|p| p.name == name)?;
        self.arguments.get(index)
    }

    /// The rows this action creates, with their parents.
    pub fn created_rows(&self, system: &System) -> Vec<WorldRow> {
        let spec = &system.operations[&self.kind];
        spec.parameters
            .iter()
            .zip(&self.arguments)
            .filter_map(|(parameter, row)| match parameter.source {
                Source::New(of) => Some(WorldRow {
                    key: row.clone(),
                    parents: of.map(|o| self.arguments[o].clone()).into_iter().collect(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Every value its SQL may use: the system's constants and its
    /// arguments' identities, by parameter name.
    pub fn values(&self, system: &System) -> BTreeMap<String, Value> {
        let mut values: BTreeMap<String, Value> = system
            .constants
            .iter()
            .map(|(name, c)| (name.clone(), Value::of_type(c.sql_type, &c.value)))
            .collect();
        let spec = &system.operations[&self.kind];
        for (parameter, row) in spec.parameters.iter().zip(&self.arguments) {
            if let Some(value) = system.identity(row) {
                values.insert(parameter.name.clone(), value);
            }
        }
        values
    }

    /// Reads the text form `sign-out token=t1 user=u1`: the operation, then
    /// each parameter with a row label (`missing = true` or `new` rows may
    /// name rows beyond the world's). For tests and the library API.
    pub fn parse(system: &System, text: &str) -> Result<Action, String> {
        let mut words = text.split_whitespace();
        let kind = words.next().ok_or("an action needs an operation name")?;
        let spec = system.operation(kind).ok_or_else(|| {
            format!(
                "{} is not an operation of {}",
                crate::text::quoted(kind),
                system.name
            )
        })?;
        let mut given: BTreeMap<&str, RowKey> = BTreeMap::new();
        for word in words {
            let (name, label) = word
                .split_once('=')
                .ok_or_else(|| format!("{} is not name=row", crate::text::quoted(word)))?;
            given.insert(name, crate::world::parse_label(system, label)?);
        }
        let mut arguments = Vec::new();
        for parameter in &spec.parameters {
            let row = given
                .remove(parameter.name.as_str())
                .ok_or_else(|| format!("{kind} needs {}=…", parameter.name))?;
            if row.entity != parameter.entity {
                return Err(format!(
                    "{}={row} is not a {}",
                    parameter.name, system.entities[parameter.entity].name
                ));
            }
            arguments.push(row);
        }
        if let Some(extra) = given.keys().next() {
            return Err(format!(
                "{kind} has no parameter {}",
                crate::text::quoted(extra)
            ));
        }
        Ok(Action::new(system, kind, arguments))
    }

    /// `{"kind": "sign-out", "token": 1, "user": 1}`.
    pub fn to_json(&self, system: &System) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("kind".into(), self.kind.clone().into());
        let spec = &system.operations[&self.kind];
        for (parameter, row) in spec.parameters.iter().zip(&self.arguments) {
            map.insert(parameter.name.clone(), row.number.into());
        }
        serde_json::Value::Object(map)
    }

    pub fn from_json(system: &System, value: &serde_json::Value) -> Result<Action, String> {
        let map = value.as_object().ok_or("an action is an object")?;
        let kind = map
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or("an action needs a \"kind\"")?;
        let spec = system.operation(kind).ok_or_else(|| {
            let known: Vec<&str> = system.operations.keys().map(String::as_str).collect();
            format!(
                "{} is not an operation of {} ({})",
                crate::text::quoted(kind),
                system.name,
                known.join(", ")
            )
        })?;
        if let Some(extra) = map
            .keys()
            .find(|k| *k != "kind" && !spec.parameters.iter().any(|p| &p.name == *k))
        {
            return Err(format!(
                "{kind} has no parameter {}",
                crate::text::quoted(extra)
            ));
        }
        let mut arguments = Vec::new();
        for parameter in &spec.parameters {
            let number = map
                .get(&parameter.name)
                .and_then(|v| v.as_u64())
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    format!(
                        "{kind} needs {} as a row number",
                        crate::text::quoted(&parameter.name)
                    )
                })?;
            arguments.push(RowKey::new(system, parameter.entity, number));
        }
        Ok(Action::new(system, kind, arguments))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// One operation of a case: an action and the id its tombstones carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    pub id: OperationId,
    pub action: Action,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.id, self.action)
    }
}

//! A case: a world and the operations that run concurrently on it, one
//! session each, in one system. What the generator produces, the exhaustive
//! mode explores and a counterexample saves.

use crate::operation::{Action, Operation, OperationId};
use crate::system::System;
use crate::world::{RowKey, World, WorldRow};
use std::fmt;
use std::sync::Arc;

/// Orders of operations are enumerated by the serial oracle, and a case is
/// read by people: more operations than this is refused when a file is read.
pub const OPERATIONS_MAX: usize = 8;

#[derive(Clone, Debug)]
pub struct Case {
    pub system: Arc<System>,
    pub world: World,
    pub operations: Vec<Operation>,
}

impl PartialEq for Case {
    fn eq(&self, other: &Self) -> bool {
        self.system.name == other.system.name
            && self.world == other.world
            && self.operations == other.operations
    }
}
impl Eq for Case {}

impl Case {
    /// Numbers the actions `op1`, `op2`, … in order.
    pub fn new(system: Arc<System>, world: World, actions: Vec<Action>) -> Case {
        let operations = actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| Operation {
                id: OperationId(i as u16 + 1),
                action,
            })
            .collect();
        Case {
            system,
            world,
            operations,
        }
    }

    /// A case from text: the world's text form and one action per line of
    /// `actions` (`sign-out token=t1 user=u1`), checked.
    pub fn parse(system: &Arc<System>, world: &str, actions: &[&str]) -> Result<Case, String> {
        let world = World::parse(system, world)?;
        let actions = actions
            .iter()
            .map(|a| Action::parse(system, a))
            .collect::<Result<Vec<_>, _>>()?;
        let case = Case::new(system.clone(), world, actions);
        case.validate()?;
        Ok(case)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.world.validate(&self.system)?;
        if self.operations.is_empty() {
            return Err("a case needs at least one operation".into());
        }
        if self.operations.len() > OPERATIONS_MAX {
            return Err(format!(
                "a case has at most {OPERATIONS_MAX} operations, this one has {}",
                self.operations.len()
            ));
        }
        for (i, op) in self.operations.iter().enumerate() {
            if op.id != OperationId(i as u16 + 1) {
                return Err(format!("operation {} must have id op{}", i + 1, i + 1));
            }
        }
        let mut created: Vec<RowKey> = Vec::new();
        for op in &self.operations {
            for row in op.action.created_rows(&self.system) {
                if self.world.row(&row.key).is_some() || created.contains(&row.key) {
                    return Err(format!(
                        "{} creates {}, which exists already",
                        op.id, row.key
                    ));
                }
                created.push(row.key);
            }
        }
        Ok(())
    }

    /// Every row the case can hold: the world's and those its operations
    /// create, with parents.
    pub fn all_rows(&self) -> Vec<WorldRow> {
        let mut rows = self.world.rows().to_vec();
        for op in &self.operations {
            rows.extend(op.action.created_rows(&self.system));
        }
        rows
    }

    pub fn to_json(&self) -> serde_json::Value {
        let operations: Vec<serde_json::Value> = self
            .operations
            .iter()
            .map(|op| serde_json::json!({ "id": op.id.0, "action": op.action.to_json(&self.system) }))
            .collect();
        serde_json::json!({ "world": self.world.to_json(&self.system), "operations": operations })
    }

    pub fn from_json(system: &Arc<System>, value: &serde_json::Value) -> Result<Case, String> {
        let map = value.as_object().ok_or("a case is an object")?;
        if let Some(extra) = map.keys().find(|k| *k != "world" && *k != "operations") {
            return Err(format!(
                "a case has no field {}",
                crate::text::quoted(extra)
            ));
        }
        let world = World::from_json(system, map.get("world").ok_or("a case needs a world")?)?;
        let list = map
            .get("operations")
            .and_then(|o| o.as_array())
            .ok_or("a case needs a list of operations")?;
        if list.len() > OPERATIONS_MAX {
            return Err(format!(
                "a case has at most {OPERATIONS_MAX} operations, this one has {}",
                list.len()
            ));
        }
        let mut operations = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let id = item
                .get("id")
                .and_then(|v| v.as_u64())
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| format!("operation {} has no id", i + 1))?;
            let action = Action::from_json(
                system,
                item.get("action").ok_or("an operation needs an action")?,
            )
            .map_err(|e| format!("operation {}: {e}", i + 1))?;
            operations.push(Operation {
                id: OperationId(id),
                action,
            });
        }
        let case = Case {
            system: system.clone(),
            world,
            operations,
        };
        case.validate()?;
        Ok(case)
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "world: {}", self.world)?;
        for op in &self.operations {
            writeln!(f, "  {op}")?;
        }
        Ok(())
    }
}

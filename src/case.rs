//! A case: a world and the operations that run concurrently on it, one
//! session each. What the generator produces, the exhaustive mode explores
//! and a counterexample saves.

use crate::operation::{Action, Operation, OperationId};
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub world: World,
    pub operations: Vec<Operation>,
}

impl Case {
    /// Numbers the actions `op1`, `op2`, … in order.
    pub fn new(world: World, actions: Vec<Action>) -> Case {
        let operations = actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| Operation {
                id: OperationId(i as u16 + 1),
                action,
            })
            .collect();
        Case { world, operations }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.world.validate()?;
        if self.operations.is_empty() {
            return Err("a case needs at least one operation".into());
        }
        for (i, op) in self.operations.iter().enumerate() {
            if op.id != OperationId(i as u16 + 1) {
                return Err(format!("operation {} must have id op{}", i + 1, i + 1));
            }
        }
        Ok(())
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

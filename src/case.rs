//! A case: a world and the operations that run concurrently on it, one
//! session each. What the generator produces, the exhaustive mode explores
//! and a counterexample saves.

use crate::operation::{Action, Operation, OperationId};
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most operations a case may have. The sequentially-explained oracle
/// tries every serial order (8! = 40 320 model runs at most), so a file with
/// more is refused when it is loaded, before anything connects.
pub const OPERATIONS_MAX: usize = 8;

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

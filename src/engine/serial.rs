//! Serial runs of a system's reference implementation: the operations of a
//! case one after the other in a given order, on the same database, for the
//! sequentially-explained oracle. Kept per case and order, so exploring
//! every schedule of one case pays for each order once, and a clean run
//! usually pays for one (the order the operations finished in).

use super::{Engine, EngineError};
use crate::case::Case;
use crate::chooser::Serial;
use crate::history::OperationResult;
use crate::implementation::Implementation;
use crate::world::RowKey;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Kept serial runs past this many are forgotten (a stress run sees new
/// cases all the time).
const KEPT_MAX: usize = 20_000;

/// One serial run's results (by operation index) and final live rows.
pub type SerialOutcome = (Vec<OperationResult>, BTreeSet<RowKey>);

#[derive(Default)]
pub(super) struct SerialRuns {
    /// The reference implementation of the last system seen.
    reference: Option<Arc<Implementation>>,
    runs: HashMap<(String, Vec<usize>), SerialOutcome>,
}

impl Engine {
    /// The results and final live rows of running `case`'s operations
    /// serially in `order` (operation indexes) with the system's reference
    /// implementation.
    pub async fn run_serial(
        &mut self,
        case: &Case,
        order: &[usize],
    ) -> Result<SerialOutcome, EngineError> {
        let key = (
            format!("{}|{}", case.system.name, case.to_json()),
            order.to_vec(),
        );
        if let Some(found) = self.serial.runs.get(&key) {
            return Ok(found.clone());
        }
        let reference = self.reference(case)?;
        let mut chooser = Serial::in_order(order);
        let history = self.run(case, &reference, &mut chooser).await?;
        let found = (history.results, history.snapshot.live);
        if self.serial.runs.len() >= KEPT_MAX {
            self.serial.runs.clear();
        }
        self.serial.runs.insert(key, found.clone());
        Ok(found)
    }

    fn reference(&mut self, case: &Case) -> Result<Arc<Implementation>, EngineError> {
        let system = &case.system;
        let fits = |i: &Implementation| i.system == system.name && i.name == system.reference;
        if let Some(reference) = self.serial.reference.as_ref().filter(|i| fits(i)) {
            return Ok(reference.clone());
        }
        let reference = Implementation::load(system, &system.reference)
            .map(Arc::new)
            .map_err(|e| EngineError::Reference {
                system: system.name.clone(),
                message: e.to_string(),
            })?;
        self.serial.reference = Some(reference.clone());
        Ok(reference)
    }
}

//! Enumerates every schedule, depth first: each run follows a recorded prefix
//! of choice positions and takes the first option beyond it; `advance` then
//! moves to the next unexplored branch. The position is a value you can print.

use super::{Chooser, ChooserError};
use crate::schedule::SessionId;

#[derive(Clone, Debug, Default)]
pub struct Exhaustive {
    /// (option taken, options there were) at each choice point of this run.
    path: Vec<(usize, usize)>,
    depth: usize,
    runs: u64,
}

impl Exhaustive {
    pub fn new() -> Exhaustive {
        Exhaustive::default()
    }

    /// Prepares the next run; false when every schedule has been run.
    pub fn advance(&mut self) -> bool {
        self.runs += 1;
        self.path.truncate(self.depth);
        self.depth = 0;
        while let Some((taken, options)) = self.path.pop() {
            if taken + 1 < options {
                self.path.push((taken + 1, options));
                return true;
            }
        }
        false
    }

    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// The current position, e.g. `[1/2 0/2 0/1]`.
    pub fn position(&self) -> String {
        let parts: Vec<String> = self.path.iter().map(|(t, o)| format!("{t}/{o}")).collect();
        format!("[{}]", parts.join(" "))
    }
}

impl Chooser for Exhaustive {
    fn choose(&mut self, runnable: &[SessionId]) -> Result<SessionId, ChooserError> {
        let taken = match self.path.get(self.depth) {
            // A replayed prefix: the same case must offer the same options.
            Some(&(taken, options)) => {
                if options != runnable.len() {
                    return Err(ChooserError::Diverged {
                        position: self.depth + 1,
                        expected: options,
                        found: runnable.len(),
                    });
                }
                taken
            }
            None => {
                self.path.push((0, runnable.len()));
                0
            }
        };
        self.depth += 1;
        Ok(runnable[taken])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sessions of two steps each, with no blocking, have C(4,2) = 6
    /// schedules.
    #[test]
    fn enumerates_every_interleaving_once() {
        let mut exhaustive = Exhaustive::new();
        let mut seen = std::collections::BTreeSet::new();
        loop {
            let mut left = [2, 2];
            let mut schedule = Vec::new();
            while left.iter().any(|l| *l > 0) {
                let runnable: Vec<SessionId> = (0..2)
                    .filter(|i| left[*i] > 0)
                    .map(SessionId::from_index)
                    .collect();
                let s = exhaustive.choose(&runnable).unwrap();
                left[s.index()] -= 1;
                schedule.push(s.0);
            }
            assert!(seen.insert(schedule));
            if !exhaustive.advance() {
                break;
            }
        }
        assert_eq!(seen.len(), 6);
    }
}

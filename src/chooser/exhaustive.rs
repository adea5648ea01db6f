//! Enumerates every schedule, depth first: each run follows a recorded prefix
//! of choice positions and takes the first option beyond it; `advance` then
//! moves to the next unexplored branch. The position is a value you can print.

use super::{Chooser, ChooserError, Hint};
use crate::schedule::SessionId;

#[derive(Clone, Debug, Default)]
pub struct Exhaustive {
    /// (option taken, options there were) at each choice point of this run.
    path: Vec<(usize, usize)>,
    depth: usize,
    runs: u64,
    /// Skip a schedule that differs from an explored one only by the order
    /// of two neighbouring statements that commute.
    pruned: bool,
    hint: Option<Hint>,
    /// Choice points at the start of `path` that this explorer never
    /// advances: it explores only the subtree under them.
    fixed: usize,
}

impl Exhaustive {
    pub fn new() -> Exhaustive {
        Exhaustive::default()
    }

    /// Explores one schedule per order of the statements that do not
    /// commute: when the session that just moved ran a statement that
    /// commutes with a lower-numbered session's next one, only the order
    /// with the lower number first is explored (it was, one choice back).
    /// Sound for statements on disjoint tables under READ COMMITTED; the
    /// engine marks everything else as touching every table.
    pub fn pruned() -> Exhaustive {
        Exhaustive {
            pruned: true,
            ..Exhaustive::default()
        }
    }

    /// Only the schedules whose first choice takes option `first` of the
    /// `of` the first choice point offers: one part of the tree for one
    /// worker. The parts for `first` = 0, 1, … `of`-1, concatenated, are the
    /// whole depth-first enumeration, in its order.
    pub fn subtree(mut self, first: usize, of: usize) -> Exhaustive {
        self.path = vec![(first, of)];
        self.fixed = 1;
        self
    }

    /// The options this choice really has: without sessions whose next
    /// statement would only swap with the one that just ran.
    fn options(&self, runnable: &[SessionId]) -> Vec<SessionId> {
        let Some(Hint {
            last: Some((moved, last)),
            next,
        }) = self.hint.as_ref().filter(|_| self.pruned)
        else {
            return runnable.to_vec();
        };
        let kept: Vec<SessionId> = runnable
            .iter()
            .copied()
            .filter(|q| !(q < moved && next.iter().any(|(s, f)| s == q && last.commutes_with(*f))))
            .collect();
        if kept.is_empty() {
            runnable.to_vec()
        } else {
            kept
        }
    }

    /// Prepares the next run; false when every schedule has been run.
    pub fn advance(&mut self) -> bool {
        self.runs += 1;
        self.path.truncate(self.depth);
        self.depth = 0;
        while self.path.len() > self.fixed {
            let (taken, options) = self.path.pop().expect("longer than the fixed prefix");
            if taken + 1 < options {
                self.path.push((taken + 1, options));
                return true;
            }
        }
        false
    }

    /// How many options the first choice point offered (after one run).
    pub fn first_options(&self) -> Option<usize> {
        self.path.first().map(|&(_, options)| options)
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
    fn wants_hint(&self) -> bool {
        self.pruned
    }

    fn hint(&mut self, hint: Hint) {
        self.hint = Some(hint);
    }

    fn choose(&mut self, runnable: &[SessionId]) -> Result<SessionId, ChooserError> {
        let options = self.options(runnable);
        let runnable = options.as_slice();
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

    #[test]
    fn enumerates_every_interleaving_once() {
        let all = all(Exhaustive::new());
        let distinct: std::collections::BTreeSet<&Vec<u16>> = all.iter().collect();
        assert_eq!((all.len(), distinct.len()), (6, 6));
    }

    /// Every schedule of `explorer` on two sessions of two steps each, with
    /// no blocking: C(4,2) = 6 of them.
    fn all(mut explorer: Exhaustive) -> Vec<Vec<u16>> {
        let mut seen = Vec::new();
        loop {
            let mut left = [2, 2];
            let mut schedule = Vec::new();
            while left.iter().any(|l| *l > 0) {
                let runnable: Vec<SessionId> = (0..2)
                    .filter(|i| left[*i] > 0)
                    .map(SessionId::from_index)
                    .collect();
                let s = explorer.choose(&runnable).unwrap();
                left[s.index()] -= 1;
                schedule.push(s.0);
            }
            seen.push(schedule);
            if !explorer.advance() {
                return seen;
            }
        }
    }

    #[test]
    fn subtrees_of_the_first_choice_concatenate_to_the_whole_enumeration() {
        let whole = all(Exhaustive::new());
        let mut parts = all(Exhaustive::new().subtree(0, 2));
        parts.extend(all(Exhaustive::new().subtree(1, 2)));
        assert_eq!(parts, whole);
        assert!(
            all(Exhaustive::new().subtree(1, 2))
                .iter()
                .all(|s| s[0] == 2)
        );
    }
}

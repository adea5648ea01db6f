//! Enumerates every schedule, depth first: each run follows a recorded prefix
//! of choice positions and takes the first option beyond it; `advance` then
//! moves to the next unexplored branch. The position is a value you can print.

use super::{Chooser, ChooserError, Hint, RowHint};
use crate::reach::Reach;
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
    /// Run one schedule per class of schedules that only reorder statements
    /// whose rows do not conflict (`reduced`).
    reduced: bool,
    /// This run's choices so far, with what each chosen statement reached
    /// and who could have moved instead.
    trail: Vec<Taken>,
    /// Per session, the lowest session it may ever conflict with through a
    /// chain of sessions: independent groups run one after the other.
    group: Vec<usize>,
    /// Tombstone inserts for the same row commute (`reduced`, not
    /// `reduced_strict`).
    appends_commute: bool,
}

#[derive(Clone, Debug)]
struct Taken {
    session: SessionId,
    reach: Reach,
    runnable: Vec<SessionId>,
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

    /// One schedule per class of equivalent schedules, as far as the rows
    /// each statement reaches (`crate::reach`) can tell: a schedule is run
    /// only if it is the least, in session order, of the schedules that
    /// differ from it by swapping neighbouring statements whose rows do not
    /// conflict (sleep sets in the form of a lexicographic normal form),
    /// and sessions that can never conflict run one group after the other
    /// (a persistent set). A way on that can only lead to schedules already
    /// run ends the run early (`ChooserError::Redundant`).
    pub fn reduced() -> Exhaustive {
        Exhaustive {
            reduced: true,
            appends_commute: true,
            ..Exhaustive::default()
        }
    }

    /// [`Exhaustive::reduced`] with tombstone inserts for the same row kept
    /// in every order: for a tombstone table with a unique key.
    pub fn reduced_strict() -> Exhaustive {
        Exhaustive {
            appends_commute: false,
            ..Exhaustive::reduced()
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
            ..
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

    /// The sessions `runnable` worth moving under the reduction.
    fn reduced_options(&self, runnable: &[SessionId], rows: &RowHint) -> Vec<SessionId> {
        let group = |s: SessionId| self.group.get(s.index()).copied().unwrap_or(s.index());
        let rank = |s: SessionId| (group(s), s);
        let first = rows.live.iter().map(|s| group(*s)).min();
        let mut options: Vec<SessionId> = runnable
            .iter()
            .copied()
            .filter(|s| Some(group(*s)) == first)
            .collect();
        if options.is_empty() {
            // The first group waits on something outside the harness.
            options = runnable.to_vec();
        }
        options.retain(|&q| {
            let Some((_, reach)) = rows.next.iter().find(|(s, _)| *s == q) else {
                return true;
            };
            // Could q's statement have gone before a run of statements it
            // commutes with, one of them by a later session? Then that
            // earlier order is the one explored.
            for taken in self.trail.iter().rev() {
                if taken.session == q
                    || !taken.runnable.contains(&q)
                    || taken.reach.conflicts(reach)
                {
                    return true;
                }
                if rank(taken.session) > rank(q) {
                    return false;
                }
            }
            true
        });
        options
    }

    /// Groups of sessions that may conflict, each named by its lowest
    /// session: sessions in different groups never touch the same rows.
    fn set_groups(&mut self, whole: &[Reach]) {
        let mut group: Vec<usize> = (0..whole.len()).collect();
        for i in 0..whole.len() {
            for j in i + 1..whole.len() {
                if whole[i].conflicts(&whole[j]) {
                    let (a, b) = (group[i], group[j]);
                    let (low, high) = (a.min(b), a.max(b));
                    for g in group.iter_mut().filter(|g| **g == high) {
                        *g = low;
                    }
                }
            }
        }
        self.group = group;
    }

    /// Prepares the next run; false when every schedule has been run.
    pub fn advance(&mut self) -> bool {
        self.trail.clear();
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
        self.pruned || self.reduced
    }

    fn wants_rows(&self) -> bool {
        self.reduced
    }

    fn appends_commute(&self) -> bool {
        self.appends_commute
    }

    fn hint(&mut self, mut hint: Hint) {
        if let Some(whole) = hint.rows.as_mut().and_then(|r| r.whole.take()) {
            self.set_groups(&whole);
        }
        self.hint = Some(hint);
    }

    fn choose(&mut self, all: &[SessionId]) -> Result<SessionId, ChooserError> {
        let rows = self.hint.as_mut().and_then(|h| h.rows.take());
        let options = match rows.as_ref().filter(|_| self.reduced) {
            Some(rows) => self.reduced_options(all, rows),
            None => self.options(all),
        };
        if options.is_empty() {
            return Err(ChooserError::Redundant {
                position: self.depth + 1,
            });
        }
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
        let chosen = runnable[taken];
        if self.reduced {
            let reach = rows
                .as_ref()
                .and_then(|r| r.next.iter().find(|(s, _)| *s == chosen))
                .map_or_else(Reach::everything, |(_, reach)| reach.clone());
            self.trail.push(Taken {
                session: chosen,
                reach,
                runnable: all.to_vec(),
            });
        }
        Ok(chosen)
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

//! Settling: before each choice, wait until every in-flight session has
//! either finished or is confirmed blocked by another of ours, and break lock
//! cycles with a victim chosen by the schedule rather than by timing.

use super::program::State;
use super::{Engine, EngineError, Run};
use crate::history::{Event, EventKind};
use crate::schedule::SessionId;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Back-to-back probes after the first interval, at most this many in a row.
const QUICK_PROBES_MAX: u32 = 50;

/// The wait before the next probe: none for a quick one (only a yield, so
/// replies already received are taken first), else the probe interval.
async fn pause(quick: bool, interval: Duration) {
    if quick {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(interval).await;
    }
}

impl Engine {
    pub(super) async fn settle(&mut self, run: &mut Run<'_>) -> Result<(), EngineError> {
        // Sessions the server said are blocked by ours since the last
        // completion; any completion may have released a lock, so it resets.
        let mut confirmed: BTreeSet<usize> = BTreeSet::new();
        let interval = Duration::from_micros(self.limits.probe_interval_us);
        // Probes since the last completion. Most steps answer well within the
        // first interval, so that one is slept; a step still running after it
        // is probably waiting on a lock, so the next probes go back to back
        // (each is one ~0.05 ms round trip) until the answer is in, then
        // fall back to the interval (a wait on something outside the harness).
        let mut probes = 0u32;
        loop {
            while let Ok((index, generation, reply, value)) = self.completions.try_recv() {
                if generation == self.generation {
                    self.complete(run, index, reply, value).await?;
                    confirmed.clear();
                    probes = 0;
                }
            }
            let in_flight: Vec<usize> = (0..run.programs.len())
                .filter(|i| run.programs[*i].is_in_flight())
                .collect();
            if in_flight.is_empty() {
                return Ok(());
            }
            if in_flight.iter().all(|i| confirmed.contains(i)) {
                if self.break_cycle(run, &in_flight).await? {
                    continue;
                }
                return Ok(());
            }
            let quick = (1..=QUICK_PROBES_MAX).contains(&probes);
            tokio::select! {
                biased;
                Some((index, generation, reply, value)) = self.completions.recv() => {
                    if generation == self.generation {
                        self.complete(run, index, reply, value).await?;
                        confirmed.clear();
                        probes = 0;
                    }
                }
                _ = pause(quick, interval) => {
                    probes += 1;
                    confirmed = self.probe_in_flight(run, &in_flight).await?;
                    self.cancel_overdue(run, &in_flight).await?;
                }
            }
        }
    }

    /// Asks the server who is blocked; records a `Blocked` event whenever a
    /// session's set of blockers changes. A positive answer is re-checked by
    /// the caller draining completions before it trusts it.
    async fn probe_in_flight(
        &mut self,
        run: &mut Run<'_>,
        in_flight: &[usize],
    ) -> Result<BTreeSet<usize>, EngineError> {
        let pids: Vec<i32> = in_flight.iter().map(|i| self.session(*i).pid).collect();
        // A session whose connection was lost this run has no backend left
        // (its operation is already indeterminate); the others are ours.
        let ours: Vec<(usize, i32)> = (0..run.programs.len())
            .filter_map(|i| self.sessions.get(i)?.as_ref().map(|s| (i, s.pid)))
            .collect();
        let our_pids: Vec<i32> = ours.iter().map(|(_, pid)| *pid).collect();
        let blockers = self.probe.blockers(&pids, &our_pids).await?;
        let mut confirmed = BTreeSet::new();
        for (&index, pid) in in_flight.iter().zip(&pids) {
            let by: Vec<SessionId> = blockers
                .get(pid)
                .map(|b| {
                    b.iter()
                        .filter_map(|p| ours.iter().find(|(_, o)| o == p))
                        .map(|(i, _)| SessionId::from_index(*i))
                        .collect()
                })
                .unwrap_or_default();
            let program = &mut run.programs[index];
            if by.is_empty() {
                program.mark_running();
                continue;
            }
            confirmed.insert(index);
            let changed = !matches!(&program.state, State::Blocked { by: old, .. } if *old == by);
            if changed {
                tracing::debug!(session = %SessionId::from_index(index), choice = run.choice, ?by, "blocked");
                program.mark_blocked(by.clone());
                run.events.push(Event {
                    choice: run.choice,
                    session: SessionId::from_index(index),
                    kind: EventKind::Blocked { by },
                });
            }
        }
        Ok(confirmed)
    }

    /// A step that is not waiting on us and has run past `step_wait_ms_max`
    /// is cancelled; its reply then makes the operation indeterminate.
    async fn cancel_overdue(
        &mut self,
        run: &mut Run<'_>,
        in_flight: &[usize],
    ) -> Result<(), EngineError> {
        let limit = self.step_wait_max();
        for &index in in_flight {
            if let State::Sent { since, .. } = run.programs[index].state
                && since.elapsed() > limit
                && !run.victims.contains(&index)
            {
                let pid = self.session(index).pid;
                self.probe.cancel(pid).await?;
                run.programs[index].restart_clock(Instant::now());
            }
        }
        Ok(())
    }

    /// If the blocked sessions wait on each other in a cycle, cancels the one
    /// whose statement closed it (the most recently sent), as PostgreSQL's
    /// deadlock detector would cancel one member, but deterministically.
    async fn break_cycle(
        &mut self,
        run: &mut Run<'_>,
        in_flight: &[usize],
    ) -> Result<bool, EngineError> {
        let waits_on = |i: usize| -> Vec<usize> {
            match &run.programs[i].state {
                State::Blocked { by, .. } => by.iter().map(|s| s.index()).collect(),
                _ => Vec::new(),
            }
        };
        let Some(cycle) = find_cycle(in_flight, waits_on) else {
            return Ok(false);
        };
        let last_sent = |i: &usize| {
            run.events.iter().rposition(|e| {
                e.session == SessionId::from_index(*i) && matches!(e.kind, EventKind::Sent(_))
            })
        };
        let victim = *cycle
            .iter()
            .max_by_key(|i| last_sent(i))
            .expect("a cycle has members");
        let members: Vec<SessionId> = cycle.iter().map(|i| SessionId::from_index(*i)).collect();
        run.events.push(Event {
            choice: run.choice,
            session: SessionId::from_index(victim),
            kind: EventKind::DeadlockVictim { cycle: members },
        });
        run.victims.push(victim);
        let pid = self.session(victim).pid;
        self.probe.cancel(pid).await?;
        run.programs[victim].mark_running();
        Ok(true)
    }
}

/// A cycle in the waits-on graph restricted to `nodes` (depth-first; the
/// graphs have at most a handful of sessions).
fn find_cycle(nodes: &[usize], waits_on: impl Fn(usize) -> Vec<usize>) -> Option<Vec<usize>> {
    fn visit(
        node: usize,
        path: &mut Vec<usize>,
        nodes: &[usize],
        waits_on: &dyn Fn(usize) -> Vec<usize>,
    ) -> Option<Vec<usize>> {
        if let Some(at) = path.iter().position(|p| *p == node) {
            return Some(path[at..].to_vec());
        }
        path.push(node);
        for next in waits_on(node).into_iter().filter(|n| nodes.contains(n)) {
            if let Some(cycle) = visit(next, path, nodes, waits_on) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    nodes
        .iter()
        .find_map(|&start| visit(start, &mut Vec::new(), nodes, &waits_on))
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_cycles_through_any_blocker() {
        let graph = |i: usize| match i {
            0 => vec![1, 2],
            2 => vec![0],
            _ => vec![],
        };
        assert_eq!(super::find_cycle(&[0, 1, 2], graph), Some(vec![0, 2]));
    }

    #[test]
    fn finds_two_session_cycles_only() {
        let graph = |i: usize| match i {
            0 => vec![1],
            1 => vec![0],
            _ => vec![],
        };
        assert_eq!(super::find_cycle(&[0, 1, 2], graph), Some(vec![0, 1]));
        let chain = |i: usize| if i == 0 { vec![1] } else { vec![] };
        assert_eq!(super::find_cycle(&[0, 1], chain), None);
    }
}

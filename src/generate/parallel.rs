//! A hunt over several engines (a database each): case number `n` is drawn
//! from `(seed, n)` alone (`draw`), workers take the next number as they
//! finish one, and the failure reported is the one of the lowest failing
//! number, shrunk on one engine. Every number below it is run whatever the
//! workers' timing, so what is reported is the same for any number of
//! engines (though not the same cases as `Hunt::run`, whose cases come from
//! one proptest stream).

use super::draw::draw;
use super::hunt::{Found, Hunt, HuntError, Target, judge_for, shrink_tree};
use crate::chooser::Preference;
use crate::engine::{Engine, EngineError};
use crate::implementation::Implementation;
use crate::system::System;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the workers share: the next case number, and the lowest failing
/// one so far with the failure it showed.
struct Progress {
    next: AtomicU64,
    lowest: Mutex<Option<(u64, Target, std::time::Duration)>>,
}

impl Progress {
    /// The next number worth running, if any: past the lowest failure
    /// nothing can change the result.
    fn take(&self, cases: u64) -> Option<u64> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let bound = self
            .lowest
            .lock()
            .expect("progress lock")
            .as_ref()
            .map_or(cases, |(n, _, _)| *n);
        (n < bound).then_some(n)
    }

    fn failed(&self, n: u64, target: Target, after: std::time::Duration) {
        let mut lowest = self.lowest.lock().expect("progress lock");
        if lowest.as_ref().is_none_or(|(m, _, _)| n < *m) {
            *lowest = Some((n, target, after));
        }
    }
}

impl Hunt {
    /// [`Hunt::run`] split over `engines`; the same result for any number
    /// of them.
    pub async fn run_parallel(
        &self,
        engines: &mut [Engine],
        system: &Arc<System>,
        implementation: &Implementation,
        target: Target,
    ) -> Result<Option<Found>, HuntError> {
        let kinds: Vec<String> = implementation.operations.keys().cloned().collect();
        self.bounds.validate()?;
        let started = std::time::Instant::now();
        let progress = Progress {
            next: AtomicU64::new(0),
            lowest: Mutex::new(None),
        };
        let cases = u64::from(self.cases);
        let workers = engines.iter_mut().map(|engine| {
            let (progress, kinds, target, started) = (&progress, &kinds, &target, &started);
            async move {
                while let Some(n) = progress.take(cases) {
                    let seed = draw(self.seed, n, self.bounds, system, kinds).current();
                    let (case, preferences) = seed.resolve();
                    let history = engine
                        .run(&case, implementation, &mut Preference::new(preferences))
                        .await?;
                    let verdict = judge_for(engine, &case, &history, target).await?;
                    if let Some(found) = target.matches(&verdict) {
                        progress.failed(n, found, started.elapsed());
                    }
                }
                Ok::<(), EngineError>(())
            }
        });
        for result in futures::future::join_all(workers).await {
            result?;
        }
        let Some((n, target, first_failure)) = progress.lowest.into_inner().expect("progress lock")
        else {
            return Ok(None);
        };
        let engine = engines.first_mut().expect("at least one engine");
        let mut tree = draw(self.seed, n, self.bounds, system, &kinds);
        let (case, history, verdict) = shrink_tree(
            engine,
            implementation,
            tree.as_mut(),
            &target,
            self.max_shrink_iters,
        )
        .await?;
        Ok(Some(Found {
            first_failure,
            case,
            history,
            verdict,
            target,
            cases_run: u32::try_from(n + 1).unwrap_or(u32::MAX),
        }))
    }
}

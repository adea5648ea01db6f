//! What a person (a bar on a terminal) or a CI log (a plain line every
//! interval) sees while `stress`/`run` works: cases, runs/s, findings so far
//! by anomaly, indeterminate runs, elapsed time and ETA, for this shard.
//! Runs beside the workers and stops when they have all finished.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;
use tokio::sync::Notify;
use tombstone_harness::stress::{Progress, Shard};

/// How often a terminal bar is redrawn.
const TERMINAL_TICK: Duration = Duration::from_millis(200);

/// The budget and place of the run being shown.
pub struct View {
    pub shard: Shard,
    pub duration: Option<Duration>,
    pub cases_max: Option<u64>,
    /// Between plain lines when stderr is not a terminal.
    pub interval: Duration,
}

/// Shows progress until `finished` is notified.
pub async fn show(progress: &Progress, finished: &Notify, view: View) {
    let bar = std::io::stderr().is_terminal().then(|| new_bar(&view));
    let tick = if bar.is_some() {
        TERMINAL_TICK
    } else {
        view.interval
    };
    loop {
        tokio::select! {
            _ = finished.notified() => break,
            // The display's own pace; the workers do not wait for it.
            _ = tokio::time::sleep(tick) => {}
        }
        let message = line(progress, &view);
        match &bar {
            Some(bar) => {
                bar.set_position(position(progress, &view));
                bar.set_message(message);
            }
            None => eprintln!(
                "[{:>5.0}s] {message}",
                progress.started.elapsed().as_secs_f64()
            ),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

fn new_bar(view: &View) -> ProgressBar {
    let length = match (view.duration, view.cases_max) {
        (Some(duration), _) => duration.as_secs(),
        (None, Some(cases)) => cases,
        (None, None) => 0,
    };
    let bar = ProgressBar::new(length);
    let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
        .expect("a valid template");
    bar.set_style(style);
    bar
}

/// Seconds when the budget is a duration, else cases.
fn position(progress: &Progress, view: &View) -> u64 {
    match view.duration {
        Some(_) => progress.started.elapsed().as_secs(),
        None => progress.snapshot().cases,
    }
}

fn line(progress: &Progress, view: &View) -> String {
    let tally = progress.snapshot();
    let elapsed = progress.started.elapsed();
    let runs = tally.scheduled_runs + tally.free_runs;
    let rate = runs as f64 / elapsed.as_secs_f64().max(0.001);
    let counts: Vec<String> = tally
        .count_by_anomaly()
        .iter()
        .map(|((implementation, anomaly), n)| format!("{implementation}:{anomaly}={n}"))
        .collect();
    let findings = if counts.is_empty() {
        "none".to_string()
    } else {
        counts.join(" ")
    };
    let eta = eta(elapsed, tally.cases, view)
        .map(|left| format!(", ETA {}s", left.as_secs()))
        .unwrap_or_default();
    format!(
        "shard {}/{}: {} cases, {rate:.0} runs/s, findings {findings}, {} indeterminate, {}s elapsed{eta}",
        view.shard.index,
        view.shard.count,
        tally.cases,
        tally.indeterminate,
        elapsed.as_secs()
    )
}

/// Time left: of `--duration`, or of `--cases` at the rate so far; the
/// sooner of the two when both are given.
fn eta(elapsed: Duration, cases: u64, view: &View) -> Option<Duration> {
    let by_duration = view.duration.map(|d| d.saturating_sub(elapsed));
    let by_cases = view.cases_max.filter(|_| cases > 0).map(|max| {
        let left = max.saturating_sub(cases) as f64;
        elapsed.mul_f64(left / cases as f64)
    });
    match (by_duration, by_cases) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_the_sooner_of_duration_and_cases() {
        let view = |duration, cases_max| View {
            shard: Shard::WHOLE,
            duration,
            cases_max,
            interval: Duration::from_secs(10),
        };
        let ten = Duration::from_secs(10);
        let minute = Some(Duration::from_secs(60));
        assert_eq!(
            eta(ten, 5, &view(minute, None)),
            Some(Duration::from_secs(50))
        );
        assert_eq!(
            eta(ten, 5, &view(None, Some(20))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            eta(ten, 5, &view(minute, Some(20))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(eta(ten, 0, &view(None, Some(20))), None);
    }
}

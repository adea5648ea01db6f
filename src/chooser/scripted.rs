//! Replays a recorded schedule exactly; a choice that is not runnable is an
//! error (the run diverged from the recording), never silently changed.

use super::{Chooser, ChooserError};
use crate::schedule::{Schedule, SessionId};

pub struct Scripted {
    schedule: Schedule,
    position: usize,
    lenient: bool,
}

impl Scripted {
    pub fn new(schedule: Schedule) -> Scripted {
        Scripted {
            schedule,
            position: 0,
            lenient: false,
        }
    }

    /// For shrinking only: a choice that cannot run (the case was changed
    /// under the schedule) is skipped instead of failing.
    pub fn lenient(schedule: Schedule) -> Scripted {
        Scripted {
            schedule,
            position: 0,
            lenient: true,
        }
    }
}

impl Chooser for Scripted {
    fn choose(&mut self, runnable: &[SessionId]) -> Result<SessionId, ChooserError> {
        let mut position = self.position;
        self.position += 1;
        if self.lenient {
            while self
                .schedule
                .choices
                .get(position)
                .is_some_and(|c| !runnable.contains(c))
            {
                position += 1;
            }
            self.position = position + 1;
        }
        // Past the recording, finish serially: a recording made by a run that
        // stopped early is still replayable.
        let Some(wanted) = self.schedule.choices.get(position).copied() else {
            return Ok(runnable[0]);
        };
        if runnable.contains(&wanted) {
            Ok(wanted)
        } else {
            let names: Vec<String> = runnable.iter().map(ToString::to_string).collect();
            Err(ChooserError::NotRunnable {
                position: position + 1,
                wanted,
                runnable: names.join(", "),
            })
        }
    }
}

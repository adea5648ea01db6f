//! Turns a list of small numbers (from proptest or a seeded RNG) into choices:
//! 0 keeps the session that moved last (if it can), k moves k sessions on in
//! rotation. So shrinking the numbers towards 0 removes context switches, and
//! an all-zero list is the serial order.

use super::{Chooser, ChooserError};
use crate::schedule::SessionId;

pub struct Preference {
    preferences: Vec<u8>,
    position: usize,
    last: Option<SessionId>,
}

impl Preference {
    pub fn new(preferences: Vec<u8>) -> Preference {
        Preference {
            preferences,
            position: 0,
            last: None,
        }
    }
}

impl Chooser for Preference {
    fn choose(&mut self, runnable: &[SessionId]) -> Result<SessionId, ChooserError> {
        let preference = self.preferences.get(self.position).copied().unwrap_or(0) as usize;
        self.position += 1;
        // Rotate so the last session to move comes first (or, if it cannot
        // run, the next one after it).
        let start = match self.last {
            Some(last) => runnable.iter().position(|s| *s >= last).unwrap_or(0),
            None => 0,
        };
        let chosen = runnable[(start + preference) % runnable.len()];
        self.last = Some(chosen);
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_mean_serial_and_ones_alternate() {
        let both = [SessionId(1), SessionId(2)];
        let mut zeros = Preference::new(vec![0, 0, 0]);
        let picks: Vec<_> = (0..3).map(|_| zeros.choose(&both).unwrap().0).collect();
        assert_eq!(picks, vec![1, 1, 1]);
        let mut ones = Preference::new(vec![0, 1, 1]);
        let picks: Vec<_> = (0..3).map(|_| ones.choose(&both).unwrap().0).collect();
        assert_eq!(picks, vec![1, 2, 1]);
    }
}

//! Which boxes the verdict blames: each violation carries the steps it
//! blames and why (found once, by the oracle); this only gathers them per
//! box.

use crate::oracle::{Verdict, Violation};
use std::collections::BTreeMap;

/// The letter a marker shows: the anomaly, or `!` for a violation without one.
pub(super) fn letter(violation: &Violation) -> String {
    violation
        .anomaly
        .as_ref()
        .map_or_else(|| "!".to_string(), |a| a.to_string())
}

/// How a blamed step is marked: the letters of the violations that blame
/// it (`B`, or `AB` when two do) and why, in a few words.
#[derive(Clone, Debug, Default)]
pub(super) struct Mark {
    pub letters: String,
    pub captions: Vec<String>,
}

/// Completed event index → its mark, each letter and caption once, in
/// verdict order.
pub(super) fn blamed(verdict: &Verdict) -> BTreeMap<usize, Mark> {
    let mut marks: BTreeMap<usize, Mark> = BTreeMap::new();
    for violation in &verdict.violations {
        let letter = letter(violation);
        for crate::oracle::Blame { event, caption } in &violation.blamed {
            let mark = marks.entry(*event).or_default();
            if !mark.letters.contains(&letter) {
                mark.letters.push_str(&letter);
            }
            if !caption.is_empty() && !mark.captions.contains(caption) {
                mark.captions.push(caption.clone());
            }
        }
    }
    marks
}

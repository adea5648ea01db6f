//! A schedule: the sequence of choices "which session sends its next statement
//! now". Printable and parseable, so a failure can be saved, read by a person
//! and replayed exactly. Knows nothing of how choices are made or run.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The format version written in front of every printed schedule.
pub const SCHEDULE_VERSION: &str = "v1";

/// A session of a case, numbered from 1 like its operation (`s1` runs `op1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub u16);

impl SessionId {
    pub fn index(self) -> usize {
        self.0 as usize - 1
    }

    pub fn from_index(index: usize) -> SessionId {
        SessionId(index as u16 + 1)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Schedule {
    pub choices: Vec<SessionId>,
}

impl Schedule {
    pub fn new(choices: Vec<SessionId>) -> Schedule {
        Schedule { choices }
    }

    /// Parses `v1: 1 2 2 1`; also accepts `s1 s2` and a missing version.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let body = match text.trim().split_once(':') {
            Some((version, body)) if version.trim() == SCHEDULE_VERSION => body,
            Some((version, _)) => {
                return Err(format!(
                    "schedule version {} is not supported (this harness reads {SCHEDULE_VERSION})",
                    crate::text::quoted(version.trim())
                ));
            }
            None => text,
        };
        let mut choices = Vec::new();
        for word in body
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
        {
            let number = word.trim_start_matches('s');
            match number.parse::<u16>() {
                Ok(n) if n >= 1 => choices.push(SessionId(n)),
                _ => {
                    return Err(format!(
                        "{} in a schedule is not a session number (1, 2, …)",
                        crate::text::quoted(word)
                    ));
                }
            }
        }
        Ok(Schedule { choices })
    }

    /// How often the schedule moves from one session to another.
    pub fn context_switches(&self) -> usize {
        self.choices.windows(2).filter(|w| w[0] != w[1]).count()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let numbers: Vec<String> = self.choices.iter().map(|s| s.0.to_string()).collect();
        write!(f, "{SCHEDULE_VERSION}: {}", numbers.join(" "))
    }
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Schedule::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let schedule = Schedule::new(vec![SessionId(1), SessionId(2), SessionId(2), SessionId(1)]);
        assert_eq!(schedule.to_string(), "v1: 1 2 2 1");
        assert_eq!(Schedule::parse(&schedule.to_string()).unwrap(), schedule);
        assert_eq!(
            Schedule::parse("s1 s2").unwrap().choices,
            vec![SessionId(1), SessionId(2)]
        );
        assert_eq!(schedule.context_switches(), 2);
    }

    #[test]
    fn rejects_other_versions_and_junk() {
        assert!(Schedule::parse("v9: 1 2").unwrap_err().contains("version"));
        assert!(Schedule::parse("v1: 1 x").unwrap_err().contains("'x'"));
        assert!(Schedule::parse("0").is_err());
    }
}

//! Scenario files (`fixtures/scenarios/*.json`): a small named case for the
//! exhaustive mode. The shipped ones are embedded so the binary works from
//! any directory.

use crate::case::Case;
use serde::Deserialize;
use std::path::Path;

pub const FORMAT: &str = "tombstone-harness scenario v1";

pub const SHIPPED: [(&str, &str); 6] = [
    ("1466", include_str!("../fixtures/scenarios/1466.json")),
    (
        "sign-in-during-password-change",
        include_str!("../fixtures/scenarios/sign-in-during-password-change.json"),
    ),
    (
        "double-revoke",
        include_str!("../fixtures/scenarios/double-revoke.json"),
    ),
    (
        "concurrent-user-deletes",
        include_str!("../fixtures/scenarios/concurrent-user-deletes.json"),
    ),
    (
        "team-delete-vs-revoke",
        include_str!("../fixtures/scenarios/team-delete-vs-revoke.json"),
    ),
    (
        "team-delete-leaves-invitations",
        include_str!("../fixtures/scenarios/team-delete-leaves-invitations.json"),
    ),
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub format: String,
    #[serde(default)]
    pub about: String,
    pub case: Case,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{0}: cannot read: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: not a scenario: {1}")]
    Invalid(String, String),
    #[error("unknown scenario '{0}': name a shipped one ({1}) or a .json file")]
    Unknown(String, String),
}

impl Scenario {
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            return Scenario::parse(name, text);
        }
        let path = Path::new(name_or_path);
        if !path.exists() && !name_or_path.ends_with(".json") {
            let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
            return Err(ScenarioError::Unknown(
                crate::text::one_line(name_or_path),
                names.join(", "),
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::Read(name_or_path.into(), e))?;
        Scenario::parse(name_or_path, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let invalid = |m: String| ScenarioError::Invalid(file.into(), crate::text::one_line(&m));
        let scenario: Scenario = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if scenario.format != FORMAT {
            return Err(invalid(format!(
                "format '{}' is not '{FORMAT}'",
                scenario.format
            )));
        }
        scenario.case.validate().map_err(invalid)?;
        Ok(scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_load() {
        for (name, _) in SHIPPED {
            Scenario::load(name).unwrap();
        }
    }

    #[test]
    fn errors_are_one_line() {
        let err = Scenario::parse("x.json", "{\"format\": 1}")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("x.json: not a scenario:") && !err.contains('\n'),
            "{err}"
        );
        let err = Scenario::load("nope").unwrap_err().to_string();
        assert!(err.contains("unknown scenario 'nope'"), "{err}");
    }
}

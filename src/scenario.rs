//! Scenario files (`fixtures/systems/NAME/scenarios/*.json`): a small named
//! case of one system for the exhaustive mode. A system's own scenarios are
//! named by file stem; any other file by path.

use crate::case::Case;
use crate::system::System;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

pub const FORMAT: &str = "tombstone-harness scenario v2";

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub about: String,
    pub case: Case,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    format: String,
    #[serde(default)]
    about: String,
    case: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{0}: cannot read: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: not a scenario: {1}")]
    Invalid(String, String),
    #[error("unknown scenario '{0}': name one of system {1}'s ({2}) or a .json file")]
    Unknown(String, String, String),
}

impl Scenario {
    /// The names of the system's own scenarios.
    pub fn names(system: &System) -> Vec<String> {
        System::stems(&system.scenarios)
    }

    pub fn load(system: &Arc<System>, name_or_path: &str) -> Result<Scenario, ScenarioError> {
        let own = system.scenarios.iter().find(|f| {
            Path::new(&f.path)
                .file_stem()
                .is_some_and(|s| s == name_or_path)
        });
        if let Some(file) = own {
            return Scenario::parse(
                system,
                name_or_path,
                &format!("{}/{}", system.name, file.path),
                &file.text,
            );
        }
        let path = Path::new(name_or_path);
        if !path.exists() && !name_or_path.ends_with(".json") {
            return Err(ScenarioError::Unknown(
                crate::text::one_line(name_or_path),
                system.name.clone(),
                Scenario::names(system).join(", "),
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::Read(name_or_path.into(), e))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| name_or_path.to_string());
        Scenario::parse(system, &name, name_or_path, &text)
    }

    pub fn parse(
        system: &Arc<System>,
        name: &str,
        file: &str,
        text: &str,
    ) -> Result<Scenario, ScenarioError> {
        let invalid = |m: String| ScenarioError::Invalid(file.into(), crate::text::one_line(&m));
        let raw: RawScenario = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if raw.format != FORMAT {
            return Err(invalid(format!(
                "format '{}' is not '{FORMAT}'",
                raw.format
            )));
        }
        let case = Case::from_json(system, &raw.case).map_err(invalid)?;
        Ok(Scenario {
            name: name.to_string(),
            about: raw.about,
            case,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_load() {
        for name in System::shipped_names() {
            let system = System::load(name).unwrap();
            for scenario in Scenario::names(&system) {
                Scenario::load(&system, &scenario).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }

    #[test]
    fn errors_are_one_line() {
        let system = System::load("stack-auth").unwrap();
        let err = Scenario::parse(&system, "x", "x.json", "{\"format\": 1}")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("x.json: not a scenario:") && !err.contains('\n'),
            "{err}"
        );
        let err = Scenario::load(&system, "nope").unwrap_err().to_string();
        assert!(err.contains("unknown scenario 'nope'"), "{err}");
    }
}

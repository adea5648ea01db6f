//! A hand-written mutant corpus (`fixtures/mutants/mutants.toml`): broken
//! implementations, each with the invariant and anomaly that must catch
//! it. The corpus test and `make bench` read it; a project can keep one of
//! its own in the same format.
//!
//! Owns: the manifest format. Must not know: how mutants are run.

use crate::generate::Target;
use crate::oracle::{Anomaly, Invariant};
use crate::system::System;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    mutant: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    file: String,
    system: String,
    invariant: String,
    anomaly: String,
    bug: String,
}

/// One mutant of the corpus.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The implementation file, resolved against the manifest's directory.
    pub file: PathBuf,
    /// As written in the manifest, for messages.
    pub name: String,
    pub system: String,
    pub invariant: Invariant,
    /// The anomaly's name as the system says it; `None` for one the
    /// invariant alone names (sequentially-explained).
    pub anomaly: Option<String>,
    pub bug: String,
}

impl Entry {
    /// The finding that must catch this mutant.
    pub fn target(&self, system: &System) -> Result<Target, String> {
        let anomaly = match &self.anomaly {
            None => None,
            Some(name) => Some(
                Anomaly::all(system)
                    .into_iter()
                    .find(|a| &a.name == name)
                    .ok_or_else(|| {
                        format!(
                            "mutant {}: system {} has no anomaly {}",
                            self.name,
                            system.name,
                            crate::text::quoted(name)
                        )
                    })?,
            ),
        };
        Ok(Target::Only(self.invariant, anomaly))
    }
}

/// Reads a manifest; one line naming the entry and field on a mistake.
pub fn load(manifest: &Path) -> Result<Vec<Entry>, String> {
    let text =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let raw: RawManifest = toml::from_str(&text).map_err(|e| {
        format!(
            "{}: {}",
            manifest.display(),
            crate::implementation::toml_error(&text, &e)
        )
    })?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    raw.mutant
        .into_iter()
        .map(|entry| {
            let invariant = Invariant::ALL
                .into_iter()
                .find(|i| i.name() == entry.invariant)
                .ok_or_else(|| {
                    format!(
                        "{}: mutant {}: field 'invariant': {} is not an invariant",
                        manifest.display(),
                        entry.file,
                        crate::text::quoted(&entry.invariant)
                    )
                })?;
            Ok(Entry {
                file: dir.join(&entry.file),
                name: entry.file,
                system: entry.system,
                invariant,
                anomaly: (!entry.anomaly.is_empty()).then_some(entry.anomaly),
                bug: entry.bug,
            })
        })
        .collect()
}

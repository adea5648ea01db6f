//! The systems of `fixtures/systems/`, embedded by `build.rs`.

use super::SystemFile;

include!(concat!(env!("OUT_DIR"), "/shipped_systems.rs"));

pub(super) fn names() -> Vec<&'static str> {
    SHIPPED.iter().map(|(name, _)| *name).collect()
}

pub(super) fn files(name: &str) -> Option<Vec<SystemFile>> {
    let (_, files) = SHIPPED.iter().find(|(n, _)| *n == name)?;
    Some(
        files
            .iter()
            .map(|(path, text)| SystemFile {
                path: (*path).to_string(),
                text: (*text).to_string(),
            })
            .collect(),
    )
}

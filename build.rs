//! Embeds every shipped system (`fixtures/systems/*/`) into the binary, so
//! `--system stack-auth` works from any directory and an installed binary
//! needs no checkout.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "toml" || e == "sql" || e == "json")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let systems = root.join("fixtures/systems");
    println!("cargo:rerun-if-changed={}", systems.display());
    let mut names: Vec<PathBuf> = std::fs::read_dir(&systems)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from("pub(super) const SHIPPED: &[(&str, &[(&str, &str)])] = &[\n");
    for dir in names {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        println!("cargo:rerun-if-changed={}", dir.display());
        writeln!(out, "    ({name:?}, &[").unwrap();
        for file in files_of(&dir) {
            println!("cargo:rerun-if-changed={}", file.display());
            if let Some(parent) = file.parent() {
                println!("cargo:rerun-if-changed={}", parent.display());
            }
            let relative = file
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            writeln!(
                out,
                "        ({relative:?}, include_str!({:?})),",
                file.display().to_string()
            )
            .unwrap();
        }
        out.push_str("    ]),\n");
    }
    out.push_str("];\n");
    let target =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("shipped_systems.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}

//! The documentation a user's clone has must not point outside it: every
//! relative link in README.md and docs/*.md names a file or directory
//! inside the repository that exists.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap()
}

fn documents() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
}

/// Targets of `[text](target)` links, and code spans that spell a path
/// leaving the directory (`../…`), which a reader would follow just the same.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    for piece in text.split("](").skip(1) {
        let target = piece.split([')', ' ']).next().unwrap_or("");
        links.push(target.to_string());
    }
    for (i, span) in text.split('`').enumerate() {
        if i % 2 == 1 && span.starts_with("../") && !span.contains(' ') {
            links.push(span.to_string());
        }
    }
    links.retain(|l| !l.is_empty() && !l.starts_with('#') && !l.contains("://"));
    links
        .iter()
        .map(|l| l.split('#').next().unwrap().to_string())
        .collect()
}

fn broken(document: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(document).unwrap();
    let base = document.parent().unwrap();
    relative_links(&text)
        .into_iter()
        .filter(|link| match base.join(link).canonicalize() {
            Ok(target) => !target.starts_with(root()),
            Err(_) => true,
        })
        .collect()
}

#[test]
fn every_relative_link_points_at_a_file_in_the_repository() {
    let documents = documents();
    assert!(documents.iter().any(|d| d.ends_with("docs/anomalies.md")));
    for document in documents {
        let broken = broken(&document);
        assert!(broken.is_empty(), "{}: {broken:?}", document.display());
    }
}

#[test]
fn the_checker_catches_links_that_leave_the_repository() {
    let text = "see `../shared/stack-auth-facts.md` and [gone](docs/none.md), \
                [ok](docs/anomalies.md), [web](https://example.org/x)";
    let dir = tempfile::tempdir_in(root()).unwrap();
    let document = dir.path().join("x.md");
    std::fs::write(&document, text.replace("docs/", "../docs/")).unwrap();
    assert_eq!(
        broken(&document),
        ["../docs/none.md", "../shared/stack-auth-facts.md"]
    );
}

#[test]
fn the_readme_links_the_anomaly_definitions() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains("](docs/anomalies.md)"),
        "README does not link docs/anomalies.md"
    );
    let anomalies = std::fs::read_to_string(root().join("docs/anomalies.md")).unwrap();
    for heading in ["## A:", "## B:", "## C:", "## D:", "## E:", "## `serial`"] {
        assert!(anomalies.contains(heading), "{heading} missing");
    }
}

/// README and ARCHITECTURE say how often the harness vacuums its tables;
/// `tests/cleanup.rs` checks that it does.
#[test]
fn the_docs_give_the_vacuum_period_the_harness_uses() {
    let every = format!(
        "vacuums its tables every {} cases",
        tombstone_harness::db::VACUUM_EVERY
    );
    for document in ["README.md", "ARCHITECTURE.md"] {
        let text = std::fs::read_to_string(root().join(document)).unwrap();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains(&every), "{document} does not say {every:?}");
    }
}

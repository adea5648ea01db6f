//! Reading the reports a run leaves behind, as CI does: the JSON checked
//! against the published schema, the JUnit parsed as XML.

use std::path::Path;

/// The JSON report at `path`, after checking it against `docs/report.schema.json`.
pub fn valid_report(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no report at {}: {e}", path.display()));
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} breaks the schema: {errors:#?}\n{report:#}",
        path.display()
    );
    report
}

/// What CI reads from a JUnit file.
#[derive(Debug)]
pub struct Junit {
    pub text: String,
    /// `(classname, name, "failure"/"error"/"", type)` of every test case.
    pub cases: Vec<(String, String, String, String)>,
    pub properties: Vec<(String, String)>,
    /// The attributes of the one test suite.
    pub suite: Vec<(String, String)>,
}

impl Junit {
    pub fn read(path: &Path) -> Junit {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("no JUnit at {}: {e}", path.display()));
        let doc = roxmltree::Document::parse(&text).expect("JUnit is XML");
        let attribute = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap_or("").to_string();
        let cases = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .map(|case| {
                let bad = case
                    .children()
                    .find(|n| n.has_tag_name("failure") || n.has_tag_name("error"));
                let (kind, ty) = bad
                    .map(|n| (n.tag_name().name().to_string(), attribute(n, "type")))
                    .unwrap_or_default();
                (
                    attribute(case, "classname"),
                    attribute(case, "name"),
                    kind,
                    ty,
                )
            })
            .collect();
        let properties = doc
            .descendants()
            .filter(|n| n.has_tag_name("property"))
            .map(|p| (attribute(p, "name"), attribute(p, "value")))
            .collect();
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .expect("a test suite")
            .attributes()
            .map(|a| (a.name().to_string(), a.value().to_string()))
            .collect();
        Junit {
            text,
            cases,
            properties,
            suite,
        }
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        let found = self.properties.iter().find(|(n, _)| n == name);
        found.map(|(_, v)| v.as_str())
    }

    pub fn suite_attribute(&self, name: &str) -> Option<&str> {
        let found = self.suite.iter().find(|(n, _)| n == name);
        found.map(|(_, v)| v.as_str())
    }

    /// The one `<error>` test case, as `(message-free) type`.
    pub fn error_type(&self) -> Option<&str> {
        let errors: Vec<_> = self.cases.iter().filter(|c| c.2 == "error").collect();
        assert!(errors.len() <= 1, "{}", self.text);
        errors.first().map(|c| c.3.as_str())
    }

    /// Test cases with a `<failure>`.
    pub fn failures(&self) -> usize {
        self.cases.iter().filter(|c| c.2 == "failure").count()
    }

    /// Checks the attributes every JUnit of ours carries for CI dashboards.
    pub fn assert_described(&self, seed: &str) {
        for attribute in ["time", "timestamp", "hostname"] {
            assert!(
                self.suite_attribute(attribute)
                    .is_some_and(|v| !v.is_empty()),
                "no {attribute} in {}",
                self.text
            );
        }
        assert_eq!(self.property("seed"), Some(seed), "{}", self.text);
        assert!(
            self.property("command")
                .is_some_and(|c| c.contains("tombstone-harness")),
            "{}",
            self.text
        );
    }
}

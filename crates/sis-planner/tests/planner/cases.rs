//! Loading the recorded situations in `tests/fixtures/<case>/`: a spec and an observed state.

use std::path::PathBuf;

use sis_spec::Spec;
use sis_types::Observed;

pub fn fixture_dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(case)
}

pub fn spec(case: &str) -> Spec {
    let path = fixture_dir(case).join("spec.yaml");
    let text = std::fs::read_to_string(&path).expect("fixture spec");
    sis_spec::parse_str(&path.display().to_string(), &text).expect("fixture specs are valid")
}

pub fn observed(case: &str) -> Observed {
    let path = fixture_dir(case).join("observed.json");
    let text = std::fs::read_to_string(&path).expect("fixture observation");
    serde_json::from_str(&text).expect("fixture observations parse")
}

/// Parses spec text written in a test.
pub fn spec_from(yaml: &str) -> Spec {
    sis_spec::parse_str("test.yaml", yaml).expect("test spec is valid")
}

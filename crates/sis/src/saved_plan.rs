//! Saved plans (`sis plan SPEC --out FILE.json`, `sis apply FILE.json`): a plan with what it
//! was made from, so that applying it later either does exactly what was reviewed or refuses.
//! The format is docs/saved-plan.md.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sis_executor::{fnv64, Basis};
use sis_spec::Spec;
use sis_types::{Observed, Plan, Summary};

pub const FORMAT: &str = "sis-plan";
pub const VERSION: u32 = 1;

/// A saved plan, as written to the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always `sis-plan`: how `sis apply` tells a saved plan from a spec.
    pub format: String,
    /// The format's version; this sis reads 1.
    pub version: u32,
    /// The sis that made it (informational).
    pub sis_version: String,
    pub spec: SpecRef,
    pub observed: ObservedRef,
    /// `--target` hosts the plan is limited to; empty: all hosts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    pub plan: Plan,
    /// The plan's counts (informational; `plan` is what is carried out).
    pub summary: Summary,
}

/// The spec a plan was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpecRef {
    /// The spec file, absolute: `apply` reads it again (hosts, TLS files).
    pub path: PathBuf,
    /// [`spec_hash`] of the spec as loaded then.
    pub hash: String,
    pub cluster: String,
}

/// The observation a plan was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObservedRef {
    /// [`Basis::fingerprint`] of `basis`.
    pub fingerprint: String,
    /// What of the observation the plan depends on, entry by entry.
    pub basis: Basis,
}

/// The canonical hash of a loaded spec: its JSON form, so comments, layout and defaults
/// written out or left implicit do not count, every value does.
pub fn spec_hash(spec: &Spec) -> String {
    fnv64(&serde_json::to_string(spec).expect("a spec serializes"))
}

impl SavedPlan {
    pub fn new(
        spec: &Spec,
        spec_file: &Path,
        observed: &Observed,
        targets: &[String],
        plan: &Plan,
    ) -> Result<SavedPlan, String> {
        let path = std::fs::canonicalize(spec_file)
            .map_err(|e| format!("cannot resolve {}: {e}", spec_file.display()))?;
        let basis = Basis::of(spec, observed);
        Ok(SavedPlan {
            format: FORMAT.into(),
            version: VERSION,
            sis_version: env!("CARGO_PKG_VERSION").into(),
            spec: SpecRef {
                path,
                hash: spec_hash(spec),
                cluster: spec.name.clone(),
            },
            observed: ObservedRef {
                fingerprint: basis.fingerprint(),
                basis,
            },
            targets: targets.to_vec(),
            plan: plan.clone(),
            summary: plan.summary(),
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).expect("a saved plan serializes");
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("cannot write the saved plan {}: {e}", path.display()))
    }

    /// The saved plan in `file`, or `None` when the file is not one (a spec). Told by the
    /// content: a JSON object whose `format` is `sis-plan`.
    pub fn read(file: &Path) -> Result<Option<SavedPlan>, String> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Ok(None);
        };
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Ok(None);
        }
        let version = value.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(VERSION)) {
            return Err(format!(
                "{}: a saved plan of version {}; this sis reads version {VERSION}: make the plan again with this sis",
                file.display(),
                version.map_or("(none)".to_string(), |v| v.to_string())
            ));
        }
        let saved: SavedPlan = serde_json::from_value(value)
            .map_err(|e| format!("{}: not a valid saved plan: {e}", file.display()))?;
        if saved.observed.basis.fingerprint() != saved.observed.fingerprint {
            return Err(format!(
                "{}: the saved plan's basis does not match its fingerprint (the file was edited); make the plan again",
                file.display()
            ));
        }
        Ok(Some(saved))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_plan_is_told_from_a_spec_by_its_content_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("sis-saved-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec_file = dir.join("c.yaml");
        let yaml = "version: 1\nname: demo\nhosts:\n  - name: local\n    nodes: 1\nnetwork:\n  name: ring2net\n  subnet: 10.9.0.0/16\n";
        std::fs::write(&spec_file, yaml).unwrap();
        let spec = sis_spec::parse_str("c.yaml", yaml).unwrap();
        let observed = Observed {
            cluster: "demo".into(),
            ..Observed::default()
        };
        let plan = Plan {
            cluster: "demo".into(),
            ..Plan::default()
        };
        let saved = SavedPlan::new(&spec, &spec_file, &observed, &[], &plan).unwrap();
        let file = dir.join("plan.yaml");
        saved.write(&file).unwrap();
        let back = SavedPlan::read(&file).unwrap().expect("a saved plan");
        assert_eq!(back.spec.hash, spec_hash(&spec));
        assert_eq!(back.observed.fingerprint, saved.observed.fingerprint);
        assert!(SavedPlan::read(&spec_file).unwrap().is_none());

        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, text.replace("\"version\": 1", "\"version\": 9")).unwrap();
        assert!(SavedPlan::read(&file).unwrap_err().contains("version 9"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

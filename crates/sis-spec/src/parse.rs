//! Reading a spec: YAML tree → shape check → [`Spec`] → semantic checks.

use std::path::Path;

use crate::error::{invalid, Problem};
use crate::{rules, shape, validate, yaml, Spec, SpecError};

/// Reads and validates the spec at `path`; problems name the file as `path` is written.
pub fn load(path: &Path) -> Result<Spec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_str(&path.display().to_string(), &text)
}

/// Parses and validates spec text; `file` names it in error messages.
///
/// Every problem is reported at once, sorted by position: first the YAML syntax (a syntax
/// error stops there), then the shape (unknown and missing keys, types, allowed values),
/// and, when the shape is right, the meaning (names, subnet size, references between keys).
pub fn parse_str(file: &str, text: &str) -> Result<Spec, SpecError> {
    let doc = yaml::parse(text).map_err(|problems| invalid(file, problems))?;
    let mut json = shape::check(doc.as_ref()).map_err(|problems| invalid(file, problems))?;
    let bad_subnet = typed_subnet(&mut json);
    let spec: Spec = serde_json::from_value(json).map_err(|e| {
        // The shape tables and the serde types disagree: a bug in sis, not in the file.
        let message =
            format!("internal error: the spec has the right shape but does not load: {e}");
        invalid(file, vec![Problem { pos: None, message }])
    })?;
    let problems = validate::validate(&spec, bad_subnet.as_deref(), doc.as_ref());
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(invalid(file, problems))
    }
}

/// Puts `network.subnet` in the form serde reads into an `Ipv4Net`. A subnet that is not a
/// CIDR is returned and replaced by a stand-in, so the rest of the spec still loads and
/// every problem is reported at once.
fn typed_subnet(json: &mut serde_json::Value) -> Option<String> {
    let subnet = json.get_mut("network")?.get_mut("subnet")?;
    let text = subnet.as_str()?.to_string();
    match rules::parse_cidr(&text) {
        Some(net) => {
            *subnet = net.to_string().into();
            None
        }
        None => {
            *subnet = "0.0.0.0/0".into();
            Some(text)
        }
    }
}

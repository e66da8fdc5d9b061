//! The run file that `sis watch` writes, `sis chaos --events` and `sis apply --report` append
//! to and `sis report` reads: JSON lines, the first naming the format and its version.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

pub const FORMAT: &str = "sis-run";
pub const VERSION: u32 = 1;

/// Appends `record` (with `t`, seconds since the epoch, added) to `path`, starting the file
/// with its header line when it is new or empty.
pub fn append(path: &Path, cluster: &str, record: Value) -> Result<(), String> {
    append_all(path, cluster, vec![record])
}

/// Appends `records` (each without `t` given the time now) to `path`, header first when the
/// file is new or empty. Several writers may append to one file (`sis watch`, `sis chaos
/// --events`, `sis apply --report`): each batch goes out in one `write` of whole lines to a
/// file opened for appending, so lines of different writers never interleave.
pub fn append_all(path: &Path, cluster: &str, records: Vec<Value>) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    let mut text = String::new();
    if file.metadata().map_err(fail)?.len() == 0 {
        let header = json!({"format": FORMAT, "version": VERSION, "cluster": cluster});
        text.push_str(&format!("{header}\n"));
    }
    let now = sis_executor::chaos::now_secs();
    for mut record in records {
        if let Value::Object(map) = &mut record {
            map.entry("t").or_insert(json!(now));
        }
        text.push_str(&format!("{record}\n"));
    }
    file.write_all(text.as_bytes()).map_err(fail)
}

//! The run file that `sis watch` writes, `sis chaos --events` appends to and `sis report`
//! reads: JSON lines, the first naming the format and its version.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

pub const FORMAT: &str = "sis-run";
pub const VERSION: u32 = 1;

/// Appends `record` (with `t`, seconds since the epoch, added) to `path`, starting the file
/// with its header line when it is new or empty.
pub fn append(path: &Path, cluster: &str, mut record: Value) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    if file.metadata().map_err(fail)?.len() == 0 {
        let header = json!({"format": FORMAT, "version": VERSION, "cluster": cluster});
        writeln!(file, "{header}").map_err(fail)?;
    }
    if let Value::Object(map) = &mut record {
        map.entry("t")
            .or_insert(json!(sis_executor::chaos::now_secs()));
    }
    writeln!(file, "{record}").map_err(fail)
}

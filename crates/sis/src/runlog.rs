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
    } else {
        check_header(path)?;
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

/// Refuses to append to a file that is not a run file (an old `--report` JSON document, a
/// typo'd path): its first line must name the format.
fn check_header(path: &Path) -> Result<(), String> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut first = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut first)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let header: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
    if header["format"] == FORMAT {
        Ok(())
    } else {
        Err(format!(
            "{}: not a sis run file (its first line does not name the format {FORMAT:?}); \
             give a new file or one that `sis watch` or `sis apply --report` wrote",
            path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_whole_lines_after_one_header_and_refuses_other_files() {
        let dir = std::env::temp_dir().join(format!("sis-runlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.jsonl");
        let _ = std::fs::remove_file(&path);
        append_all(&path, "c", vec![json!({"type": "a", "t": 1.0})]).unwrap();
        append(&path, "c", json!({"type": "b"})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0]["format"], FORMAT);
        assert_eq!(lines[1]["t"], 1.0, "a given time is kept");
        assert!(
            lines[2]["t"].as_f64().unwrap() > 1.0,
            "the time now is added"
        );
        let old = dir.join("old.json");
        std::fs::write(&old, "{\n  \"phases\": []\n}\n").unwrap();
        let e = append(&old, "c", json!({"type": "b"})).unwrap_err();
        assert!(e.contains("not a sis run file"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&old).unwrap(),
            "{\n  \"phases\": []\n}\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

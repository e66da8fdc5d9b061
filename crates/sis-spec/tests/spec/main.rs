//! The spec as a user meets it: files in, `file:line:column` messages out.

mod files;
mod schema;
mod semantic;
mod shape;

/// YAML text from lines, so that `lines[0]` is line 1 in the messages.
pub fn yaml(lines: &[&str]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Every problem of `text` as the user sees it, or nothing for a valid spec.
pub fn problems(text: &str) -> Vec<String> {
    match sis_spec::parse_str("cluster.yaml", text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

/// A valid spec; tests change one line to make one mistake.
pub const BASE: &[&str] = &[
    "version: 1",            // 1
    "name: demo",            // 2
    "hosts:",                // 3
    "  - name: a",           // 4
    "    nodes: 3",          // 5
    "network:",              // 6
    "  name: ring2net",      // 7
    "  subnet: 10.9.0.0/16", // 8
];

/// [`BASE`] with `line` (1-based) replaced by `with` (which may hold several lines).
pub fn base_with(line: usize, with: &str) -> String {
    let mut lines: Vec<&str> = BASE.to_vec();
    lines[line - 1] = with;
    yaml(&lines)
}

/// [`BASE`] followed by more lines (line 9 onwards).
pub fn base_and(more: &[&str]) -> String {
    let mut lines: Vec<&str> = BASE.to_vec();
    lines.extend_from_slice(more);
    yaml(&lines)
}

#[test]
fn the_base_spec_is_valid() {
    assert_eq!(problems(&yaml(BASE)), Vec::<String>::new());
}

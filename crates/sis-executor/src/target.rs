//! `--target host:NAME`: a plan limited to some hosts.
//!
//! An action is kept when what it acts on is on a targeted host: a node's container, its
//! swarm2 membership or its swarm2 entry (found by the node's name), a host's place in
//! swarm1, an image put on a host, the network or K/V store made through a host. swarm2
//! actions run through a manager on another host (a join's token, a promotion, an entry's
//! removal) are kept when the node they act on is on a targeted host: the other host is
//! only asked, not changed. Everything else is left out and counted in a note of the plan.
//! Nothing the kept actions need from other hosts is added: targeting changes some hosts of
//! a cluster that exists; it does not build one.

use std::collections::BTreeSet;

use sis_types::{Action, Plan};

/// Which hosts a plan is limited to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub hosts: BTreeSet<String>,
}

impl Targets {
    /// The host whose thing `action` changes, for the node names of `cluster`.
    fn acted_on<'a>(cluster: &str, action: &'a Action) -> Option<&'a str> {
        match action {
            Action::PromoteSwarm2 { node, .. } | Action::DemoteSwarm2 { node, .. } => {
                node_host(cluster, node)
            }
            Action::RemoveSwarm2Entry { hostname, .. } => node_host(cluster, hostname),
            other => Some(other.host()),
        }
    }

    /// Whether `action` stays in a plan limited to these hosts.
    pub fn keeps(&self, cluster: &str, action: &Action) -> bool {
        Self::acted_on(cluster, action).is_some_and(|h| self.hosts.contains(h))
    }

    /// `plan` without the actions on other hosts; a note says how many were left out.
    pub fn restrict(&self, mut plan: Plan) -> Plan {
        let cluster = plan.cluster.clone();
        let mut left_out = 0;
        for phase in &mut plan.phases {
            let before = phase.actions.len();
            phase.actions.retain(|a| self.keeps(&cluster, &a.action));
            left_out += before - phase.actions.len();
        }
        plan.phases.retain(|p| !p.actions.is_empty());
        if left_out > 0 {
            let names: Vec<String> = self.hosts.iter().map(|h| format!("host:{h}")).collect();
            plan.notes.push(format!(
                "--target {}: {left_out} action{} on other hosts left out",
                names.join(" "),
                if left_out == 1 { "" } else { "s" }
            ));
        }
        plan
    }
}

/// The host of a node by its name `<cluster>.<host>-<index>`.
fn node_host<'a>(cluster: &str, name: &'a str) -> Option<&'a str> {
    let rest = name
        .strip_prefix(cluster)?
        .strip_prefix(sis_types::labels::SEPARATOR)?;
    let (host, index) = rest.rsplit_once('-')?;
    index.parse::<u32>().ok().map(|_| host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sis_types::{Phase, PlanPhase, PlannedAction, Role};

    fn planned(action: Action) -> PlannedAction {
        PlannedAction {
            action,
            reason: "test".into(),
        }
    }

    #[test]
    fn actions_on_other_hosts_are_left_out_and_counted() {
        let create = |host: &str, i: u32| {
            planned(Action::StartNode {
                host: host.into(),
                name: format!("demo.{host}-{i}"),
            })
        };
        let join = planned(Action::JoinSwarm2 {
            host: "h2".into(),
            node: "demo.h2-3".into(),
            role: Role::Worker,
            manager: "demo.h1-1".into(),
            manager_host: "h1".into(),
            address: "10.9.4.18".parse().unwrap(),
            manager_address: "10.9.0.16".parse().unwrap(),
        });
        let entry = |hostname: &str| {
            planned(Action::RemoveSwarm2Entry {
                manager: "demo.h1-1".into(),
                manager_host: "h1".into(),
                node_id: "abc".into(),
                hostname: hostname.into(),
            })
        };
        let plan = Plan {
            cluster: "demo".into(),
            phases: vec![
                PlanPhase {
                    phase: Phase::Swarm2Shrink,
                    actions: vec![entry("demo.h2-9"), entry("demo.h1-9"), entry("")],
                },
                PlanPhase {
                    phase: Phase::Nodes,
                    actions: vec![create("h1", 3), create("h2", 3)],
                },
                PlanPhase {
                    phase: Phase::Swarm2Join,
                    actions: vec![join],
                },
            ],
            ..Plan::default()
        };
        let targets = Targets {
            hosts: ["h2".to_string()].into(),
        };
        let kept = targets.restrict(plan);
        let described: Vec<String> = kept.actions().map(|a| a.action.describe()).collect();
        assert_eq!(
            described,
            [
                "remove swarm2 entry abc (demo.h2-9)",
                "start node demo.h2-3 on host h2",
                "join node demo.h2-3 to swarm2 as worker",
            ]
        );
        assert_eq!(
            kept.notes,
            ["--target host:h2: 3 actions on other hosts left out"]
        );
    }

    #[test]
    fn node_names_give_their_host() {
        assert_eq!(node_host("demo", "demo.h-a-12"), Some("h-a"));
        assert_eq!(node_host("demo", "other.h1-1"), None);
        assert_eq!(node_host("demo", "demo.h1-x"), None);
    }
}

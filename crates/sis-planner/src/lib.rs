//! The sis planner: pure, synchronous and deterministic.
//!
//! [`plan`] diffs a [`sis_spec::Spec`] against an [`Observed`] state and returns a [`Plan`]:
//! ordered [`Phase`]s of fully resolved [`Action`]s, each with a reason. No I/O, no clock,
//! no randomness: the same inputs give byte-identical output, so plans can be snapshot-tested,
//! reviewed offline (`sis plan --observed`) and replayed by nobody — the executor observes and
//! plans again on every pass.
//!
//! What the planner refuses instead of planning (unreachable hosts, a host in another swarm, a
//! network of the spec's name that does not fit, classic swarm2, a host that cannot hold its
//! nodes by the [`capacity`] estimate unless [`PlanOptions::ignore_capacity`]) comes back as a
//! [`PlanError`] listing every problem. [`plan_destroy`] plans the removal of a cluster (and,
//! with [`DestroyOptions::swarm1`], of a swarm1 that sis made for it), and
//! [`render_text`] prints a plan the way `terraform plan` does.
//!
//! ```
//! use sis_planner::{plan, render_text};
//! use sis_types::{HostFacts, HostObservation, Observed, Phase, Swarm1Membership};
//!
//! let spec = sis_spec::parse_str("cluster.yaml", "
//! version: 1
//! name: demo
//! hosts:
//!   - name: local
//!     nodes: 2
//! network:
//!   name: ring2net
//!   subnet: 10.9.0.0/16
//! swarm2:
//!   privileged: true
//! ").unwrap();
//!
//! // A fresh engine: not in a swarm, no image, no network, no container.
//! let mut observed = Observed { cluster: "demo".into(), ..Observed::default() };
//! let swarm1 = Swarm1Membership { state: "inactive".into(), ..Default::default() };
//! let facts = HostFacts { cpus: 2, swarm1, ..HostFacts::default() };
//! observed.hosts.insert("local".into(), HostObservation::Reachable(Box::new(facts)));
//!
//! let plan = plan(&spec, &observed).unwrap();
//! let phases: Vec<Phase> = plan.phases.iter().map(|p| p.phase).collect();
//! assert_eq!(phases, [Phase::Swarm1, Phase::Images, Phase::Network, Phase::Nodes,
//!                     Phase::Swarm2Init, Phase::Swarm2Join]);
//! assert_eq!(render_text(&plan), "\
//! note: nodes on host local run privileged (privileged: true)
//!
//! swarm1
//!   ~ init swarm1 on host local  (engine is not in a swarm)
//! images
//!   + pull image docker:dind on host local  (not on the host)
//! network
//!   + create network ring2net 10.9.0.0/16 (Docker hands out 10.9.128.0/17) via host local  (swarm1 is initialised in this plan)
//! dind nodes
//!   + create node demo.local-1 on host local at 10.9.0.16  (spec wants 2, host has 0)
//!   + create node demo.local-2 on host local at 10.9.0.17  (spec wants 2, host has 0)
//! swarm2 (init)
//!   ~ init swarm2 on node demo.local-1                       (swarm2 does not exist yet; demo.local-1 is its first manager slot)
//!   ~ remove swarm2's ingress network via node demo.local-1  (spec says ingress: false; removed before nodes join, so none of them sets it up)
//! swarm2 (join)
//!   ~ join node demo.local-2 to swarm2 as worker  (swarm2 is initialised on demo.local-1 in this plan)
//!
//! Plan: 4 to add, 4 to change, 0 to remove.
//! ");
//! ```
//!
//! Ordering inside a phase: the executor runs the actions of a phase concurrently, except in
//! the phases where [`Phase::is_sequential`] holds: [`Phase::Swarm1`] (an `init`, when
//! planned, comes first and must finish before the joins), [`Phase::Swarm2Init`] (init, then
//! the ingress network), [`Phase::Swarm2Shrink`] (promotions, demotions, leaves and entry
//! removals, in plan order, to keep swarm2's quorum) and [`Phase::Swarm1Leave`] (workers
//! before managers). Within a phase, actions are listed by host in spec order, then by node
//! index.

pub mod capacity;
mod plan;
mod render;
mod resolve;

// The shared vocabulary, so the modules here can name it as `crate::…`.
use sis_types::*;

pub use plan::{
    plan, plan_destroy, plan_with, DestroyOptions, PlanError, PlanOptions, PlanProblem,
    SwarmIdentity,
};
pub use render::render_text;
pub use resolve::{manager_slots, resolve_profile};

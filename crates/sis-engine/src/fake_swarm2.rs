//! swarm2 as [`crate::fake::FakeHost`] models it: one swarm whose membership the FakeHosts of
//! a test share (hand each the same [`SharedSwarm2`]), so that a join on one host shows in
//! the node list read through another.
//!
//! It answers like dockerd where the executor relies on it: tokens name the swarm and the
//! role, a join goes through a manager's address, `leave` leaves a `down` entry behind,
//! `node rm` of an entry already gone succeeds. The node list and a node's own state are
//! rendered as dockerd prints them and parsed by the same functions as [`crate::DockerHost`]'s.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use sis_types::{Role, Swarm2Node};

use crate::docker::swarm2::{parse_local_state, parse_node_list};
use crate::{EngineError, JoinOutcome, Swarm2Local};

/// The swarm2 state shared by the fake hosts of one test.
pub type SharedSwarm2 = Arc<Mutex<FakeSwarm2>>;

/// swarm2's membership; tests may read and change it.
#[derive(Debug, Clone, Default)]
pub struct FakeSwarm2 {
    /// The swarm's ID, once a node has made it.
    pub cluster_id: Option<String>,
    /// The node list as managers show it, by node ID.
    pub entries: BTreeMap<String, FakeSwarm2Entry>,
    /// Each node container's own view: its name → its entry's ID.
    pub members: BTreeMap<String, String>,
    /// Whether swarm2 has its `ingress` network (dockerd makes one with the swarm).
    pub ingress: bool,
    /// Nodes whose next join times out and goes on in the background (they become members).
    pub join_times_out: BTreeSet<String>,
    /// Nodes whose next join dockerd refuses with this message; `{token}` stands for the
    /// token given, as dockerd quotes it.
    pub join_refusals: BTreeMap<String, String>,
    /// Nodes that are members of some other swarm, with the managers they know.
    pub other_swarm: BTreeMap<String, Vec<String>>,
    /// swarm2 lost its quorum: managers answer that there is no leader, until a repair.
    pub quorum_lost: bool,
    /// Each manager's raft log time (what `swarm2_raft_time` answers), by node name.
    pub raft_times: BTreeMap<String, i64>,
    next_id: u32,
}

/// One entry of swarm2's node list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSwarm2Entry {
    pub hostname: String,
    /// The node's address on ring2net (no port).
    pub addr: String,
    pub manager: bool,
    pub leader: bool,
    /// `ready`, `down` or `unknown`.
    pub status: String,
}

/// A failed command in `node`, worded as dockerd words it.
fn refused(node: &str, op: &str, stderr: &str) -> EngineError {
    EngineError::Exec {
        op: op.to_string(),
        container: node.to_string(),
        command: format!("docker {op} (fake)"),
        exit_code: 1,
        stderr: stderr.to_string(),
    }
}

impl FakeSwarm2 {
    /// The entry of `node` if it is a member.
    fn entry_of(&self, node: &str) -> Option<&FakeSwarm2Entry> {
        self.members.get(node).and_then(|id| self.entries.get(id))
    }

    /// The role of a node that is a member, by name.
    pub fn role_of(&self, node: &str) -> Option<Role> {
        self.entry_of(node).map(|e| {
            if e.manager {
                Role::Manager
            } else {
                Role::Worker
            }
        })
    }

    fn manager(&self, node: &str, op: &str) -> Result<(), EngineError> {
        match self.entry_of(node) {
            Some(e) if e.manager && self.quorum_lost => Err(refused(
                node,
                op,
                "Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.",
            )),
            Some(e) if e.manager => Ok(()),
            _ => Err(refused(
                node,
                op,
                "Error response from daemon: This node is not a swarm manager.",
            )),
        }
    }

    fn add_entry(&mut self, node: &str, addr: &str, manager: bool) -> String {
        self.next_id += 1;
        let id = format!("fake-node-{}", self.next_id);
        let entry = FakeSwarm2Entry {
            hostname: node.to_string(),
            addr: addr.to_string(),
            manager,
            leader: self.entries.is_empty(),
            status: "ready".to_string(),
        };
        self.entries.insert(id.clone(), entry);
        self.members.insert(node.to_string(), id.clone());
        id
    }

    /// The node's `.Swarm` of `docker info`, as dockerd prints it, parsed.
    pub(crate) fn local_state(&self, node: &str) -> Swarm2Local {
        let managers: Vec<serde_json::Value> = match self.other_swarm.get(node) {
            Some(others) => others
                .iter()
                .map(|a| serde_json::json!({"Addr": a}))
                .collect(),
            None => self
                .entries
                .values()
                .filter(|e| e.manager && e.status == "ready")
                .map(|e| serde_json::json!({"Addr": format!("{}:2377", e.addr)}))
                .collect(),
        };
        let info = match (self.members.get(node), self.entry_of(node)) {
            (Some(id), Some(e)) if self.quorum_lost && e.manager => serde_json::json!({
                "LocalNodeState": "active",
                "NodeID": id,
                "NodeAddr": e.addr,
                "ControlAvailable": true,
                "Error": "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
                "Cluster": {"ID": ""},
                "RemoteManagers": managers,
            }),
            (Some(id), Some(e)) => serde_json::json!({
                "LocalNodeState": "active",
                "NodeID": id,
                "NodeAddr": e.addr,
                "ControlAvailable": e.manager,
                "Cluster": e.manager.then(|| serde_json::json!({"ID": self.cluster_id})),
                "RemoteManagers": managers,
            }),
            // Its entry was removed while it kept running: it still believes it is a member.
            (Some(id), None) => serde_json::json!({
                "LocalNodeState": "active",
                "NodeID": id,
                "RemoteManagers": managers,
            }),
            _ if self.other_swarm.contains_key(node) => serde_json::json!({
                "LocalNodeState": "active",
                "NodeID": format!("elsewhere-{node}"),
                "RemoteManagers": managers,
            }),
            _ => serde_json::json!({"LocalNodeState": "inactive", "NodeID": ""}),
        };
        parse_local_state(&info.to_string()).expect("the fake prints what the parser reads")
    }

    pub(crate) fn init(&mut self, node: &str, addr: &str) -> Result<(), EngineError> {
        match self.entry_of(node) {
            Some(e) if e.manager => return Ok(()),
            Some(_) => {
                return Err(refused(
                    node,
                    "swarm init",
                    "Error response from daemon: This node is already part of a swarm.",
                ))
            }
            None => {}
        }
        if self.cluster_id.is_some() {
            return Err(EngineError::Other(format!(
                "swarm init in {node}: the fake models one swarm2, and it exists"
            )));
        }
        self.cluster_id = Some("fake-swarm2".to_string());
        self.ingress = true;
        self.add_entry(node, addr, true);
        Ok(())
    }

    /// `swarm init --force-new-cluster`: the node becomes swarm2's only manager and leader;
    /// the other managers stay in the list as workers (ready when their node still runs in
    /// it, else of unknown state).
    pub(crate) fn repair(&mut self, node: &str, addr: &str) -> Result<(), EngineError> {
        let id = match self.entry_of(node) {
            Some(e) if e.manager => self.members[node].clone(),
            _ => {
                return Err(refused(
                    node,
                    "swarm init --force-new-cluster",
                    "Error response from daemon: This node is not a swarm manager.",
                ))
            }
        };
        self.quorum_lost = false;
        let running: BTreeSet<String> = self.members.values().cloned().collect();
        for (other, e) in self.entries.iter_mut() {
            e.leader = *other == id;
            if *other == id {
                e.addr = addr.to_string();
                e.status = "ready".to_string();
            } else if e.manager {
                // Managers still running reconnect as workers; gone ones stay unknown.
                e.manager = false;
                e.status = if running.contains(other) {
                    "ready"
                } else {
                    "unknown"
                }
                .to_string();
            }
        }
        Ok(())
    }

    /// Tokens read `SWMTKN-2-<cluster id>-<role>`, so a join knows swarm and role.
    pub(crate) fn join_token(&self, node: &str, role: Role) -> Result<String, EngineError> {
        self.manager(node, "swarm join-token")?;
        let cluster = self.cluster_id.as_deref().unwrap_or_default();
        Ok(format!("SWMTKN-2-{cluster}-{role}"))
    }

    pub(crate) fn join(
        &mut self,
        node: &str,
        token: &str,
        manager_addr: &str,
        advertise_addr: &str,
    ) -> Result<JoinOutcome, EngineError> {
        if let Some(message) = self.join_refusals.remove(node) {
            let stderr = message.replace("{token}", token);
            return Err(refused(node, "swarm join", &stderr).redact(token));
        }
        if self.members.contains_key(node) || self.other_swarm.contains_key(node) {
            // dockerd: "This node is already part of a swarm"; its own state tells which.
            let local = self.local_state(node);
            return Ok(if local.is_member_via(manager_addr) {
                JoinOutcome::Member {
                    node_id: local.node_id,
                    manager: local.control_available,
                }
            } else {
                JoinOutcome::AlreadyMember {
                    managers: local.remote_managers,
                }
            });
        }
        let cluster = self.cluster_id.clone().unwrap_or_default();
        let role = token
            .strip_prefix(&format!("SWMTKN-2-{cluster}-"))
            .and_then(|role| match role {
                "manager" => Some(true),
                "worker" => Some(false),
                _ => None,
            });
        let Some(manager) = role.filter(|_| self.cluster_id.is_some()) else {
            let stderr = format!("Error response from daemon: invalid join token {token}");
            return Err(refused(node, "swarm join", &stderr).redact(token));
        };
        let reachable = self
            .entries
            .values()
            .any(|e| e.manager && e.status == "ready" && e.addr == manager_addr);
        if !reachable {
            return Err(refused(
                node,
                "swarm join",
                &format!("Error response from daemon: could not reach {manager_addr}:2377"),
            ));
        }
        self.add_entry(node, advertise_addr, manager);
        if self.join_times_out.remove(node) {
            return Ok(JoinOutcome::Pending);
        }
        Ok(JoinOutcome::Joined)
    }

    /// The node leaves (or its container goes): its entry stays, `down`, until removed.
    pub(crate) fn leave(&mut self, node: &str) {
        if let Some(id) = self.members.remove(node) {
            if let Some(e) = self.entries.get_mut(&id) {
                e.status = "down".to_string();
                e.leader = false;
            }
        }
    }

    pub(crate) fn set_role(
        &mut self,
        manager: &str,
        node: &str,
        role: Role,
    ) -> Result<(), EngineError> {
        self.manager(manager, "node promote/demote")?;
        let entry = self.entries.values_mut().find(|e| e.hostname == node);
        let Some(entry) = entry else {
            let stderr = format!("Error response from daemon: node {node} not found");
            return Err(refused(manager, "node promote/demote", &stderr));
        };
        entry.manager = role == Role::Manager;
        Ok(())
    }

    /// `docker node ls --format '{{json .}}'` as dockerd prints it, parsed.
    pub(crate) fn node_list(&self, manager: &str) -> Result<Vec<Swarm2Node>, EngineError> {
        self.manager(manager, "node ls")?;
        let lines: Vec<String> = self
            .entries
            .iter()
            .map(|(id, e)| {
                let manager_status = match (e.manager, e.leader, e.status.as_str()) {
                    (false, _, _) => "",
                    (true, true, _) => "Leader",
                    (true, false, "ready") => "Reachable",
                    (true, false, _) => "Unreachable",
                };
                serde_json::json!({
                    "ID": id,
                    "Hostname": e.hostname,
                    "Status": match e.status.as_str() {
                        "ready" => "Ready",
                        "unknown" => "Unknown",
                        _ => "Down",
                    },
                    "Availability": "Active",
                    "ManagerStatus": manager_status,
                })
                .to_string()
            })
            .collect();
        Ok(parse_node_list(&lines.join("\n")).expect("the fake prints what the parser reads"))
    }

    pub(crate) fn node_rm(&mut self, manager: &str, node_id: &str) -> Result<(), EngineError> {
        self.manager(manager, "node rm")?;
        self.entries.remove(node_id);
        self.members.retain(|_, id| id != node_id);
        Ok(())
    }

    pub(crate) fn ingress(&self, manager: &str) -> Result<bool, EngineError> {
        self.manager(manager, "network ls")?;
        Ok(self.ingress)
    }

    pub(crate) fn set_ingress(&mut self, manager: &str, enabled: bool) -> Result<(), EngineError> {
        self.manager(manager, "network create/rm ingress")?;
        self.ingress = enabled;
        Ok(())
    }
}

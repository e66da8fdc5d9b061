//! Where everything of a cluster sits on ring2net: fixed addresses derived from the spec, so
//! a node keeps its address across restarts (swarmkit and classic Swarm remember a node's
//! address; a manager that comes back elsewhere cannot listen on its old one).
//!
//! The subnet is split in two halves. Docker's IPAM hands out addresses of the **upper half**
//! only (the network's `ip_range`): swarm1's load balancer endpoints and anything a user
//! attaches. The **lower half** is sis's, never handed out by Docker:
//!
//! | offset | what |
//! |---|---|
//! | 0 | the network address |
//! | 1 | the gateway |
//! | 2 | the K/V store |
//! | 3 | classic Swarm's manager |
//! | 4–15 | kept for later use |
//! | 16 + h·B + (i−1) | node `i` (1-based) of the host at position `h` (0-based) |
//!
//! `B` is `network.addresses_per_host`, by default room for at least 4 hosts and at most
//! 1024 addresses a host ([`default_per_host`]).
//!
//! ```
//! let spec = sis_spec::parse_str("c.yaml", "version: 1\nname: demo\nhosts:\n  - {name: a, endpoint: 'tcp://127.0.0.1:2375', nodes: 3}\n  - {name: b, endpoint: 'tcp://127.0.0.1:2376', nodes: 2}\nnetwork: {name: ring2net, subnet: 10.9.0.0/16}\n").unwrap();
//! let plan = sis_spec::addresses::AddressPlan::of(&spec);
//! assert_eq!(plan.dynamic_range().to_string(), "10.9.128.0/17");
//! assert_eq!(plan.kvstore().to_string(), "10.9.0.2");
//! assert_eq!(plan.node(0, 1).unwrap().to_string(), "10.9.0.16");
//! assert_eq!(plan.node(1, 2).unwrap().to_string(), "10.9.4.17");
//! ```

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::Spec;

/// Offsets below this are kept for the gateway, the K/V store, the classic manager and later
/// use.
pub const FIRST_NODE_OFFSET: u32 = 16;
const GATEWAY_OFFSET: u32 = 1;
const KVSTORE_OFFSET: u32 = 2;
const CLASSIC_MANAGER_OFFSET: u32 = 3;

/// The addresses of one spec on its subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPlan {
    pub subnet: Ipv4Net,
    /// `B`: addresses set aside for each host's nodes.
    pub per_host: u32,
}

/// The default `B` for a subnet: the largest power of two that leaves room for 4 hosts in
/// the lower half, at most 1024 (a /16: 1024; a /20: 256; a /24: 16).
pub fn default_per_host(subnet: Ipv4Net) -> u32 {
    let room = lower_half_size(subnet).saturating_sub(FIRST_NODE_OFFSET) / 4;
    if room == 0 {
        return 0;
    }
    (1u32 << (31 - room.leading_zeros())).min(1024)
}

/// Addresses in the lower half of `subnet` (half of its size).
pub fn lower_half_size(subnet: Ipv4Net) -> u32 {
    let size = 1u64 << (32 - u32::from(subnet.prefix_len()));
    (size / 2).min(u64::from(u32::MAX)) as u32
}

impl AddressPlan {
    /// The plan of `spec` (its subnet and `network.addresses_per_host`, or the default).
    pub fn of(spec: &Spec) -> AddressPlan {
        let subnet = spec.network.subnet.trunc();
        let per_host = spec
            .network
            .addresses_per_host
            .unwrap_or_else(|| default_per_host(subnet));
        AddressPlan { subnet, per_host }
    }

    fn at(&self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.subnet.network()).wrapping_add(offset))
    }

    /// The range Docker's IPAM may hand out: the upper half of the subnet.
    pub fn dynamic_range(&self) -> Ipv4Net {
        let prefix = (self.subnet.prefix_len() + 1).min(32);
        Ipv4Net::new(self.at(lower_half_size(self.subnet)), prefix).expect("a valid prefix")
    }

    /// The network's gateway: the first address.
    pub fn gateway(&self) -> Ipv4Addr {
        self.at(GATEWAY_OFFSET)
    }

    /// The K/V store's address.
    pub fn kvstore(&self) -> Ipv4Addr {
        self.at(KVSTORE_OFFSET)
    }

    /// Classic Swarm's manager's address.
    pub fn classic_manager(&self) -> Ipv4Addr {
        self.at(CLASSIC_MANAGER_OFFSET)
    }

    /// The address of node `index` (1-based) of the host at `host_position` (0-based, spec
    /// order); `None` when it does not fit the host's block or the lower half.
    pub fn node(&self, host_position: usize, index: u32) -> Option<Ipv4Addr> {
        if index == 0 || index > self.per_host {
            return None;
        }
        let offset = u64::from(FIRST_NODE_OFFSET)
            + host_position as u64 * u64::from(self.per_host)
            + u64::from(index - 1);
        (offset < u64::from(lower_half_size(self.subnet))).then(|| self.at(offset as u32))
    }

    /// How many hosts' blocks fit in the lower half.
    pub fn host_room(&self) -> u32 {
        if self.per_host == 0 {
            return 0;
        }
        lower_half_size(self.subnet).saturating_sub(FIRST_NODE_OFFSET) / self.per_host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(subnet: &str, per_host: Option<u32>) -> AddressPlan {
        let subnet: Ipv4Net = subnet.parse().unwrap();
        AddressPlan {
            subnet,
            per_host: per_host.unwrap_or_else(|| default_per_host(subnet)),
        }
    }

    #[test]
    fn defaults_leave_room_for_four_hosts_and_at_most_1024_a_host() {
        let per = |s: &str| default_per_host(s.parse().unwrap());
        assert_eq!(per("10.9.0.0/16"), 1024);
        assert_eq!(per("10.9.0.0/20"), 256);
        assert_eq!(per("10.9.0.0/22"), 64);
        assert_eq!(per("10.9.0.0/24"), 16);
        assert_eq!(per("10.9.0.0/26"), 4);
        assert_eq!(per("10.9.0.0/27"), 0);
    }

    #[test]
    fn fixed_addresses_sit_in_the_lower_half_and_docker_gets_the_upper() {
        let p = plan("10.9.0.0/24", None);
        assert_eq!(p.gateway().to_string(), "10.9.0.1");
        assert_eq!(p.kvstore().to_string(), "10.9.0.2");
        assert_eq!(p.classic_manager().to_string(), "10.9.0.3");
        assert_eq!(p.dynamic_range().to_string(), "10.9.0.128/25");
        assert_eq!(p.node(0, 1).unwrap().to_string(), "10.9.0.16");
        assert_eq!(p.node(0, 16).unwrap().to_string(), "10.9.0.31");
        assert_eq!(p.node(0, 17), None, "past the host's block");
        assert_eq!(p.node(6, 16).unwrap().to_string(), "10.9.0.127");
        assert_eq!(p.node(7, 1), None, "past the lower half");
        assert_eq!(p.host_room(), 7);
    }

    #[test]
    fn a_node_keeps_its_address_whatever_the_other_hosts_hold() {
        let p = plan("10.9.0.0/16", Some(256));
        assert_eq!(p.node(2, 5).unwrap().to_string(), "10.9.2.20");
        assert_eq!(p.node(0, 0), None);
    }
}

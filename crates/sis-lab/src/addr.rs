//! Addresses of a lab: the bridge's subnet, the hosts' fixed IPs, and a ring2net subnet that
//! stays clear of the bridge.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;

use crate::LabError;

/// The first host is `.11`: the low addresses stay free for the gateway (`.1`, taken by
/// Docker) and for anything a user adds by hand.
const FIRST_HOST_OFFSET: u32 = 11;

/// Subnets offered for ring2net, the seed's first. Each lab is its own swarm1, so labs may
/// share one; it must only stay clear of the lab's bridge, which carries the overlay's traffic.
const RING2NET_CANDIDATES: [&str; 4] = [
    "10.9.0.0/16",
    "10.10.0.0/16",
    "172.29.0.0/16",
    "192.168.240.0/20",
];

/// A lab's IPv4 network, e.g. `10.198.0.0/24`: a network address with a prefix from /8 to /28.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet(Ipv4Net);

impl Subnet {
    /// The network as ipnet's type.
    pub fn net(&self) -> Ipv4Net {
        self.0
    }

    /// How many hosts fit: from `.11` up to the last address before the broadcast address.
    pub fn host_capacity(&self) -> u32 {
        let size = 1u64 << (32 - u32::from(self.0.prefix_len()));
        u32::try_from(size.saturating_sub(u64::from(FIRST_HOST_OFFSET) + 1)).unwrap_or(u32::MAX)
    }

    /// The address of host `index` (1-based): `.11`, `.12`, …
    pub fn host_ip(&self, index: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.0.network()) + FIRST_HOST_OFFSET - 1 + index)
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.0.contains(&other.0.network()) || other.0.contains(&self.0.network())
    }

    /// The first of the usual ring2net subnets that does not overlap `self`.
    pub fn ring2net_beside(&self) -> Subnet {
        RING2NET_CANDIDATES
            .iter()
            .map(|c| c.parse::<Subnet>().expect("candidates are valid"))
            .find(|c| !c.overlaps(self))
            .expect("the candidates do not all overlap one subnet")
    }
}

impl FromStr for Subnet {
    type Err = LabError;

    fn from_str(text: &str) -> Result<Subnet, LabError> {
        let invalid = |why: &str| {
            LabError::Invalid(format!(
                "subnet {text:?}: {why}; give an IPv4 network like 10.198.0.0/24"
            ))
        };
        let (addr, prefix) = text.split_once('/').ok_or_else(|| invalid("no /prefix"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| invalid("not an IPv4 address"))?;
        let net = prefix
            .parse()
            .ok()
            .filter(|p| (8..=28).contains(p))
            .and_then(|p| Ipv4Net::new(addr, p).ok())
            .ok_or_else(|| invalid("the prefix must be from /8 to /28"))?;
        if net.network() != addr {
            return Err(invalid(&format!(
                "host bits are set (the network is {})",
                net.trunc()
            )));
        }
        Ok(Subnet(net))
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(text: &str) -> Subnet {
        text.parse().unwrap()
    }

    #[test]
    fn hosts_are_numbered_from_dot_eleven() {
        let s = subnet("10.198.0.0/24");
        assert_eq!(s.host_ip(1), Ipv4Addr::new(10, 198, 0, 11));
        assert_eq!(s.host_ip(3), Ipv4Addr::new(10, 198, 0, 13));
        // .11 ..= .254
        assert_eq!(s.host_capacity(), 244);
        assert_eq!(s.host_ip(s.host_capacity()), Ipv4Addr::new(10, 198, 0, 254));
        assert_eq!(subnet("10.198.0.0/28").host_capacity(), 4);
    }

    #[test]
    fn subnets_with_mistakes_are_refused_with_the_reason() {
        let err = |t: &str| t.parse::<Subnet>().unwrap_err().to_string();
        assert!(err("10.198.0.0").contains("no /prefix"));
        assert!(err("10.198.0.5/24").contains("the network is 10.198.0.0/24"));
        assert!(err("10.198.0.0/30").contains("/8 to /28"));
        assert!(err("fd00::/64").contains("not an IPv4 address"));
        assert_eq!(subnet("10.198.0.0/24").to_string(), "10.198.0.0/24");
    }

    #[test]
    fn ring2net_stays_clear_of_the_lab_bridge() {
        assert_eq!(
            subnet("10.198.0.0/24").ring2net_beside().to_string(),
            "10.9.0.0/16"
        );
        assert_eq!(
            subnet("10.9.4.0/24").ring2net_beside().to_string(),
            "10.10.0.0/16"
        );
        let wide = subnet("10.0.0.0/8");
        let chosen = wide.ring2net_beside();
        assert!(!chosen.overlaps(&wide), "{chosen}");
    }
}

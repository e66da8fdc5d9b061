//! The rules behind the semantic checks: names, subnets, capabilities. Pure functions.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Linux capability names without the `CAP_` prefix, in bit order (capability 0 first),
/// as Docker's `--cap-add`/`--cap-drop` take them.
pub const CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Longest cluster or host name: both go into container names (`NAME.HOST-7`) and hostnames.
pub(crate) const MAX_NAME: usize = 32;

/// Longest hostname (a DNS label): node hostnames are `NAME-HOST-INDEX`.
pub(crate) const MAX_HOSTNAME: usize = 63;

/// Why `value` is not a valid cluster or host name (`[a-z0-9-]`, not starting with `-`,
/// 1..=32 characters), or `None` if it is one.
pub(crate) fn name_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("must not be empty".to_string());
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if let Some(bad) = value.chars().find(|&c| !allowed(c)) {
        let mut message =
            format!("{value:?} contains \"{bad}\"; use lower-case letters, digits and \"-\"");
        let fixed: String = value
            .to_ascii_lowercase()
            .chars()
            .map(|c| if allowed(c) { c } else { '-' })
            .collect();
        let fixed = fixed.trim_start_matches('-');
        if name_problem(fixed).is_none() {
            message.push_str(&format!(", e.g. {fixed:?}"));
        }
        return Some(message);
    }
    if value.starts_with('-') {
        return Some(format!(
            "{value:?} must start with a lower-case letter or a digit"
        ));
    }
    let len = value.chars().count();
    if len > MAX_NAME {
        return Some(format!(
            "{value:?} has {len} characters; at most {MAX_NAME} are allowed"
        ));
    }
    None
}

/// Names Docker keeps for its own networks on every engine of a swarm.
pub(crate) const RESERVED_NETWORKS: &[&str] =
    &["bridge", "host", "none", "ingress", "docker_gwbridge"];

/// Whether swarm mode accepts `name` for an overlay network: a DNS name component
/// (swarmkit's `^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$`) of at most 63 characters.
pub(crate) fn is_swarm_network_name(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    name.len() <= 63
        && name.starts_with(alnum)
        && name.ends_with(alnum)
        && name.chars().all(|c| alnum(c) || c == '-' || c == '_')
}

/// An IPv4 CIDR as written (host bits kept), or `None` if it is not `A.B.C.D/N` with N
/// from 0 to 32, written with one or two plain digits.
/// A size in bytes: a number (decimals allowed) and an optional unit, decimal (`B`, `kB`,
/// `MB`, `GB`, `TB`, as `df -H` prints them) or binary (`KiB`, `MiB`, `GiB`, `TiB`); a bare
/// number is bytes. `None` for anything else.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let valid_number = !number.is_empty()
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.matches('.').count() <= 1;
    if !valid_number {
        return None;
    }
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return None,
    };
    let value: f64 = number.parse().ok()?;
    let bytes = value * factor as f64;
    (bytes.is_finite() && bytes < u64::MAX as f64).then_some(bytes.round() as u64)
}

pub fn parse_cidr(text: &str) -> Option<Ipv4Net> {
    let (addr, prefix) = text.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Ipv4Net::new(addr, prefix.parse().ok()?).ok()
}

/// The network address of `addr` under `prefix`.
pub(crate) fn network_of(addr: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    Ipv4Net::new(addr, prefix).map_or(addr, |n| n.network())
}

/// IPv4 ranges that cannot carry a container network: "this network", loopback,
/// link-local, multicast and the reserved class E.
pub(crate) const RESERVED_SUBNETS: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\""),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
];

/// The reserved range `net` overlaps, with what it is for.
pub(crate) fn reserved_overlap(net: Ipv4Net) -> Option<(Ipv4Net, &'static str)> {
    RESERVED_SUBNETS.iter().find_map(|&(range, what)| {
        let range: Ipv4Net = range.parse().expect("a CIDR");
        overlaps(net, range).then_some((range, what))
    })
}

/// Whether two subnets share an address.
pub fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Prefix lengths sis accepts for ring2net: /8 is already 16 million addresses; past /26
/// the address plan leaves no room for nodes (see `validate::addresses`).
pub(crate) const PREFIXES: std::ops::RangeInclusive<u8> = 8..=30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_container_name_rules() {
        assert_eq!(name_problem("wily-1"), None);
        assert_eq!(name_problem("7"), None);
        assert_eq!(name_problem(&"a".repeat(32)), None);
        assert_eq!(
            name_problem(&"a".repeat(33)).unwrap(),
            format!(
                "{:?} has 33 characters; at most 32 are allowed",
                "a".repeat(33)
            )
        );
        assert_eq!(
            name_problem("My_Cluster").unwrap(),
            r#""My_Cluster" contains "M"; use lower-case letters, digits and "-", e.g. "my-cluster""#
        );
        assert_eq!(
            name_problem("-x").unwrap(),
            r#""-x" must start with a lower-case letter or a digit"#
        );
        assert_eq!(name_problem("").unwrap(), "must not be empty");
    }

    #[test]
    fn network_names_are_dns_name_components() {
        assert!(is_swarm_network_name("ring2net"));
        assert!(is_swarm_network_name("Ring_2-net"));
        assert!(is_swarm_network_name("r"));
        assert!(!is_swarm_network_name("ring.net"));
        assert!(!is_swarm_network_name("ring2net-"));
        assert!(!is_swarm_network_name("-ring2net"));
        assert!(!is_swarm_network_name("ring 2"));
        assert!(!is_swarm_network_name(&"n".repeat(64)));
    }

    #[test]
    fn sizes_parse_in_decimal_and_binary_units() {
        assert_eq!(parse_size("2GB"), Some(2_000_000_000));
        assert_eq!(parse_size("1.5 GiB"), Some(1_610_612_736));
        assert_eq!(parse_size("500MB"), Some(500_000_000));
        assert_eq!(parse_size("10kB"), Some(10_000));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("1234"), Some(1234));
        for bad in ["", "GB", "2 gigs", "1.2.3GB", ".5GB", "-1GB", "2gb"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cidrs_parse_strictly_and_size_as_documented() {
        assert_eq!(
            parse_cidr("10.9.0.0/16"),
            Some("10.9.0.0/16".parse().unwrap())
        );
        assert_eq!(
            parse_cidr("10.9.1.0/16").unwrap().to_string(),
            "10.9.1.0/16"
        );
        assert_eq!(parse_cidr("10.9.0.0"), None);
        assert_eq!(parse_cidr("10.9.0/16"), None);
        assert_eq!(parse_cidr("10.9.0.0/33"), None);
        assert_eq!(parse_cidr("10.9.0.0/+6"), None);
        assert_eq!(parse_cidr("10.09.0.0/16"), None);
        assert_eq!(
            network_of(Ipv4Addr::new(10, 9, 1, 7), 16),
            Ipv4Addr::new(10, 9, 0, 0)
        );
    }

    #[test]
    fn reserved_ranges_are_found_by_overlap() {
        let net = |s: &str| parse_cidr(s).unwrap();
        assert_eq!(reserved_overlap(net("10.9.0.0/16")), None);
        assert_eq!(reserved_overlap(net("127.1.0.0/16")).unwrap().1, "loopback");
        assert_eq!(reserved_overlap(net("224.0.0.0/8")).unwrap().1, "multicast");
        assert_eq!(
            reserved_overlap(net("169.254.0.0/30")).unwrap().1,
            "link-local"
        );
        assert!(overlaps(net("10.0.0.0/8"), net("10.9.0.0/16")));
        assert!(!overlaps(net("10.8.0.0/16"), net("10.9.0.0/16")));
    }

    #[test]
    fn the_capability_list_is_in_bit_order() {
        assert_eq!(CAPABILITIES.len(), 41);
        assert_eq!(CAPABILITIES[21], "SYS_ADMIN");
        assert_eq!(CAPABILITIES[24], "SYS_RESOURCE");
        assert_eq!(CAPABILITIES[40], "CHECKPOINT_RESTORE");
    }
}

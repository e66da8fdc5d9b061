//! Who holds a lock: enough of the taking process to tell later, on the same machine,
//! whether it still runs. A PID alone is not enough (PIDs are reused), so the process's start
//! time from `/proc/<pid>/stat` goes with it; the boot ID and the PID namespace tell that a
//! PID means the same process table at all.

use std::collections::BTreeMap;

/// Lock labels that carry the owner's identity.
pub const HOSTNAME_LABEL: &str = "sis.lock-hostname";
pub const BOOT_ID_LABEL: &str = "sis.lock-boot-id";
pub const PID_NS_LABEL: &str = "sis.lock-pid-ns";
pub const PID_LABEL: &str = "sis.lock-pid";
pub const PID_START_LABEL: &str = "sis.lock-pid-start";
pub const COMMAND_LABEL: &str = "sis.lock-command";

/// A lock owner: a sis process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `apply`, `destroy`.
    pub command: String,
    pub hostname: String,
    /// `/proc/sys/kernel/random/boot_id`: PIDs and start times are per boot.
    pub boot_id: String,
    /// The PID namespace (`/proc/self/ns/pid`): a PID means another process in another one.
    pub pid_ns: String,
    pub pid: u32,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot when the process started.
    pub start: u64,
}

/// Whether an owner's process still runs, as far as this machine can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    /// It ran on this machine, in this boot and PID namespace, and is gone.
    Gone,
    /// Another machine (or another boot, or PID namespace): nothing to tell from here.
    Unknown,
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The state and start time of a process, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces and parentheses.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Fields from 3 on: the state is field 3, the start time field 22.
    let start = fields.get(22 - 3)?.parse().ok()?;
    Some((state, start))
}

impl Owner {
    /// This process, running `sis <command>`.
    pub fn this_process(command: &str) -> Owner {
        let pid = std::process::id();
        let pid_ns = std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        Owner {
            command: command.to_string(),
            hostname: match read_trimmed("/proc/sys/kernel/hostname") {
                h if h.is_empty() => "unknown host".to_string(),
                h => h,
            },
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
            pid_ns,
            pid,
            start: stat(pid).map(|(_, start)| start).unwrap_or(0),
        }
    }

    /// For people: `sis apply (pid 123 on build-1)`.
    pub fn describe(&self) -> String {
        format!(
            "sis {} (pid {} on {})",
            self.command, self.pid, self.hostname
        )
    }

    /// The labels that carry this owner.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (COMMAND_LABEL.to_string(), self.command.clone()),
            (HOSTNAME_LABEL.to_string(), self.hostname.clone()),
            (BOOT_ID_LABEL.to_string(), self.boot_id.clone()),
            (PID_NS_LABEL.to_string(), self.pid_ns.clone()),
            (PID_LABEL.to_string(), self.pid.to_string()),
            (PID_START_LABEL.to_string(), self.start.to_string()),
        ])
    }

    /// The owner a lock's labels name; `None` for a lock without them (an older sis).
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Option<Owner> {
        let get = |k: &str| labels.get(k).cloned();
        Some(Owner {
            command: get(COMMAND_LABEL).unwrap_or_default(),
            hostname: get(HOSTNAME_LABEL)?,
            boot_id: get(BOOT_ID_LABEL)?,
            pid_ns: get(PID_NS_LABEL)?,
            pid: get(PID_LABEL)?.parse().ok()?,
            start: get(PID_START_LABEL)?.parse().ok()?,
        })
    }

    /// Whether this owner's process still runs, seen from `here` (this process).
    pub fn liveness_from(&self, here: &Owner) -> Liveness {
        let same_machine = self.hostname == here.hostname
            && !self.boot_id.is_empty()
            && self.boot_id == here.boot_id
            && !self.pid_ns.is_empty()
            && self.pid_ns == here.pid_ns;
        if !same_machine || self.start == 0 {
            return Liveness::Unknown;
        }
        match stat(self.pid) {
            // A zombie has finished; only its exit status waits to be read.
            Some((state, start)) if start == self.start && !matches!(state, 'Z' | 'X') => {
                Liveness::Alive
            }
            _ => Liveness::Gone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let here = Owner::this_process("apply");
        assert_ne!(here.start, 0, "{here:?}");
        assert_eq!(here.liveness_from(&here), Liveness::Alive);
        let reused = Owner {
            start: here.start + 1,
            ..here.clone()
        };
        assert_eq!(reused.liveness_from(&here), Liveness::Gone);
        let exited = Owner {
            pid: u32::MAX - 1,
            ..here.clone()
        };
        assert_eq!(exited.liveness_from(&here), Liveness::Gone);
    }

    #[test]
    fn a_process_of_another_machine_or_boot_is_unknown() {
        let here = Owner::this_process("apply");
        let elsewhere = Owner {
            hostname: format!("{}-other", here.hostname),
            pid: u32::MAX - 1,
            ..here.clone()
        };
        assert_eq!(elsewhere.liveness_from(&here), Liveness::Unknown);
        let rebooted = Owner {
            boot_id: "another boot".into(),
            pid: u32::MAX - 1,
            ..here.clone()
        };
        assert_eq!(rebooted.liveness_from(&here), Liveness::Unknown);
    }

    #[test]
    fn the_owner_survives_its_labels() {
        let here = Owner::this_process("destroy");
        assert_eq!(Owner::from_labels(&here.labels()), Some(here));
        assert_eq!(Owner::from_labels(&BTreeMap::new()), None);
    }

    #[test]
    fn our_own_stat_parses() {
        let (state, start) = stat(std::process::id()).unwrap();
        assert!(state.is_ascii_alphabetic());
        assert!(start > 0);
    }
}

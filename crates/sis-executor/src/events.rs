//! What the executor tells its caller while it works: the CLI turns these into progress bars,
//! plain lines or nothing.

use std::time::Duration;

use sis_types::{Observed, Phase, Plan, PlannedAction};

/// How one action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Done,
    /// Started but not finished yet (e.g. a swarm join that timed out while it goes on in the
    /// background). The next pass looks again.
    Pending(String),
    /// Failed; `transient` when a later pass may succeed.
    Failed { error: String, transient: bool },
    /// Not started: an earlier phase failed, or the run was interrupted.
    Skipped(String),
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

/// A step in a node's life, for per-node latency reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Milestone {
    /// Its container was created and started (or started again).
    Started,
    /// Its dockerd answers.
    DockerdReady,
    /// It is a member of swarm2 (`swarm init` or `swarm join` returned).
    Joined,
}

/// A progress event.
#[derive(Debug)]
pub enum Event<'a> {
    /// A convergence pass starts by observing the hosts.
    Observing {
        pass: u32,
    },
    /// The hosts were observed.
    Observed {
        pass: u32,
        observed: &'a Observed,
    },
    /// The plan of this pass (empty when converged).
    Planned {
        pass: u32,
        plan: &'a Plan,
    },
    PhaseStarted {
        phase: Phase,
        actions: usize,
    },
    ActionStarted {
        phase: Phase,
        action: &'a PlannedAction,
    },
    ActionFinished {
        phase: Phase,
        action: &'a PlannedAction,
        outcome: &'a Outcome,
        elapsed: Duration,
        attempts: u32,
    },
    PhaseFinished {
        phase: Phase,
        elapsed: Duration,
    },
    /// A node reached a milestone.
    Milestone {
        node: &'a str,
        milestone: Milestone,
    },
    /// An image on its way from one host's engine to another's: every few seconds while it
    /// moves, and once when it arrived (`done`).
    Transfer {
        image: &'a str,
        from: &'a str,
        to: &'a str,
        /// Bytes of the archive streamed so far.
        bytes: u64,
        elapsed: Duration,
        done: bool,
    },
    /// The executor waits before looking again (pending work).
    Waiting {
        why: String,
        delay: Duration,
    },
    /// Pacing measures a machine at rest at a check point (creation waits), or has measured
    /// it (`message` says what and what follows).
    Pacing {
        /// The spec's hosts on the machine.
        hosts: &'a [String],
        message: &'a str,
    },
}

/// Receives events; must be cheap (it is called inline).
pub trait Progress: Sync {
    fn event(&self, event: &Event<'_>);
}

/// Discards events.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Event<'_>) {}
}

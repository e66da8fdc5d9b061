//! The convergence loop: observe → plan → execute, until the plan is empty. A plan is never
//! replayed: every pass plans anew from what it just observed.

use std::time::{Duration, Instant};

use sis_engine::HostEngine;
use sis_planner::{plan_with, PlanError, PlanOptions};
use sis_spec::Spec;
use sis_types::{Observed, Plan};
use tokio::sync::watch;

use crate::deadline::execute_until;
use crate::events::{Event, Progress};
use crate::execute::{ExecOptions, PassReport};
use crate::observe::{observe, Hosts};
use crate::target::Targets;

/// Bounds of [`converge`].
#[derive(Debug, Clone)]
pub struct ConvergeOptions {
    /// Give up when the hosts do not match the spec after this long.
    pub timeout: Duration,
    pub exec: ExecOptions,
    /// Run a plan that repairs swarm2 (`sis apply --repair`); without it such a plan stops
    /// the convergence before it changes anything.
    pub repair: bool,
    /// Run a plan that replaces every manager or most nodes (`--allow-replace-all`).
    pub allow_replace_all: bool,
    /// What every pass's plan may overlook (`--ignore-capacity`).
    pub plan: PlanOptions,
}

impl Default for ConvergeOptions {
    fn default() -> Self {
        ConvergeOptions {
            timeout: Duration::from_secs(600),
            exec: ExecOptions::default(),
            repair: false,
            allow_replace_all: false,
            plan: PlanOptions::default(),
        }
    }
}

/// How a convergence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The hosts match the spec: the last plan was empty.
    Converged,
    /// An action failed in a way another pass would not fix.
    Failed,
    /// `--timeout` passed first.
    TimedOut,
    /// Stopped on request (Ctrl-C).
    Interrupted,
    /// A plan repairs swarm2 and the repair was not asked for: nothing of it ran.
    NeedsRepair,
    /// A plan replaces every manager or most nodes, and that was not allowed: nothing of it ran.
    NeedsReplaceAll,
    /// Node creation stopped short: a machine had no CPU headroom left
    /// ([`ConvergeReport::no_headroom`] says what was measured). The nodes made are complete.
    NoHeadroom,
}

/// Everything a convergence did.
#[derive(Debug)]
pub struct ConvergeReport {
    pub ending: Ending,
    /// The first pass's plan (what `apply` set out to do).
    pub first_plan: Plan,
    /// The last observation.
    pub observed: Observed,
    /// Each executed pass.
    pub passes: Vec<PassReport>,
    /// When `--timeout` passed during a pass: the actions that were running then (they were
    /// let finish; no new one started).
    pub running_at_timeout: Vec<String>,
    pub elapsed: Duration,
    /// With [`Ending::NoHeadroom`]: what was measured and what to do.
    pub no_headroom: Option<String>,
}

/// Observe → plan → execute until the plan is empty, a failure no retry fixes, the timeout or
/// `cancel`. The timeout bounds a pass too: past it, no new action starts. A plan error (unreachable host, wrong subnet, foreign swarm) ends it before any
/// change when it happens on the first pass.
pub async fn converge<E: HostEngine>(
    spec: &Spec,
    hosts: &Hosts<E>,
    opts: &ConvergeOptions,
    progress: &dyn Progress,
    cancel: &watch::Receiver<bool>,
) -> Result<ConvergeReport, PlanError> {
    converge_targeted(spec, hosts, opts, progress, cancel, None).await
}

/// [`converge`] with every pass's plan limited to `targets` (`--target`): it ends when
/// nothing is left to do on the targeted hosts.
pub async fn converge_targeted<E: HostEngine>(
    spec: &Spec,
    hosts: &Hosts<E>,
    opts: &ConvergeOptions,
    progress: &dyn Progress,
    cancel: &watch::Receiver<bool>,
    targets: Option<&Targets>,
) -> Result<ConvergeReport, PlanError> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now()
        .checked_add(opts.timeout)
        .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(365 * 86400));
    let mut passes = Vec::new();
    let mut first_plan = None;
    let mut pass_no = 0;
    let mut idle_wait = Duration::from_millis(500);
    loop {
        pass_no += 1;
        progress.event(&Event::Observing { pass: pass_no });
        let observed = observe(spec, hosts).await;
        progress.event(&Event::Observed {
            pass: pass_no,
            observed: &observed,
        });
        let plan = plan_with(spec, &observed, &opts.plan)?;
        let plan = match targets {
            Some(t) => t.restrict(plan),
            None => plan,
        };
        progress.event(&Event::Planned {
            pass: pass_no,
            plan: &plan,
        });
        let first = first_plan.get_or_insert_with(|| plan.clone()).clone();
        let end = |ending, observed| ConvergeReport {
            ending,
            first_plan: first.clone(),
            observed,
            passes: Vec::new(),
            running_at_timeout: Vec::new(),
            elapsed: started.elapsed(),
            no_headroom: None,
        };
        let ending = if plan.is_empty() {
            Some(Ending::Converged)
        } else if *cancel.borrow() {
            Some(Ending::Interrupted)
        } else if started.elapsed() >= opts.timeout {
            Some(Ending::TimedOut)
        } else if plan.needs_repair() && !opts.repair {
            Some(Ending::NeedsRepair)
        } else if plan.replaces_most && !opts.allow_replace_all {
            Some(Ending::NeedsReplaceAll)
        } else {
            None
        };
        if let Some(ending) = ending {
            let mut report = end(ending, observed);
            report.passes = passes;
            return Ok(report);
        }
        let exec = crate::ExecOptions {
            disk_floors: crate::disk::floors(spec, &observed),
            running_nodes: crate::pacing::running_nodes(&observed),
            ..opts.exec.clone()
        };
        let (report, timed_out) = execute_until(
            &plan,
            &spec.name,
            &spec.network.name,
            hosts,
            &exec,
            progress,
            cancel,
            deadline,
        )
        .await;
        let permanent = report.has_permanent_failure();
        let pending = report.pending();
        let no_headroom = report.no_headroom.clone();
        let progressed = report
            .outcomes
            .iter()
            .any(|(_, o, _)| *o == crate::Outcome::Done);
        passes.push(report);
        let ending = if permanent {
            Some(Ending::Failed)
        } else if no_headroom.is_some() {
            Some(Ending::NoHeadroom)
        } else if *cancel.borrow() {
            Some(Ending::Interrupted)
        } else if timed_out.is_some() {
            Some(Ending::TimedOut)
        } else {
            None
        };
        if let Some(ending) = ending {
            let mut report = end(ending, observed);
            report.passes = passes;
            report.running_at_timeout = timed_out.unwrap_or_default();
            report.no_headroom = no_headroom;
            return Ok(report);
        }
        if !progressed || pending > 0 {
            // Only pending or transient outcomes: give the hosts a moment before looking again.
            let delay = idle_wait.min(opts.timeout.saturating_sub(started.elapsed()));
            progress.event(&Event::Waiting {
                why: format!("{pending} action(s) pending"),
                delay,
            });
            let mut cancel = cancel.clone();
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.wait_for(|c| *c) => {}
            }
            idle_wait = (idle_wait * 2).min(Duration::from_secs(5));
        } else {
            idle_wait = Duration::from_millis(500);
        }
    }
}

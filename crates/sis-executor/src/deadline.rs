//! A pass bounded by the convergence's deadline. When the deadline passes mid-pass, the pass
//! starts no new action, as on Ctrl-C: the actions already running finish (each has its own
//! bounds), so nothing is left half-made. What was running at that moment is named.

use std::collections::BTreeMap;
use std::sync::Mutex;

use sis_engine::HostEngine;
use sis_types::Plan;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::events::{Event, Progress};
use crate::execute::{execute, ExecOptions, PassReport};
use crate::observe::Hosts;

/// Forwards events and keeps the actions running now (by description, counted).
struct Running<'a> {
    inner: &'a dyn Progress,
    now: Mutex<BTreeMap<String, usize>>,
}

impl Progress for Running<'_> {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::ActionStarted { action, .. } => {
                *self.lock().entry(action.action.describe()).or_default() += 1;
            }
            Event::ActionFinished { action, .. } => {
                let what = action.action.describe();
                let mut now = self.lock();
                if let Some(n) = now.get_mut(&what) {
                    *n -= 1;
                    if *n == 0 {
                        now.remove(&what);
                    }
                }
            }
            _ => {}
        }
        self.inner.event(event);
    }
}

impl Running<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, usize>> {
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn list(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }
}

/// Runs one pass of `plan`; past `deadline` it starts no new action. Returns the pass and,
/// when the deadline passed during it, the actions that were running then.
#[allow(clippy::too_many_arguments)]
pub async fn execute_until<E: HostEngine>(
    plan: &Plan,
    cluster: &str,
    network: &str,
    hosts: &Hosts<E>,
    opts: &ExecOptions,
    progress: &dyn Progress,
    cancel: &watch::Receiver<bool>,
    deadline: Instant,
) -> (PassReport, Option<Vec<String>>) {
    let running = Running {
        inner: progress,
        now: Mutex::new(BTreeMap::new()),
    };
    // The pass's own stop signal: the caller's (Ctrl-C), or the deadline.
    let (stop, pass_cancel) = watch::channel(*cancel.borrow());
    let mut user = cancel.clone();
    let pass = execute(plan, cluster, network, hosts, opts, &running, &pass_cancel);
    tokio::pin!(pass);
    let mut stopped = *cancel.borrow();
    let mut timed_out = None;
    loop {
        tokio::select! {
            report = &mut pass => return (report, timed_out),
            Ok(_) = user.wait_for(|c| *c), if !stopped => {
                stopped = true;
                stop.send_replace(true);
            }
            _ = tokio::time::sleep_until(deadline), if !stopped => {
                stopped = true;
                timed_out = Some(running.list());
                stop.send_replace(true);
            }
        }
    }
}

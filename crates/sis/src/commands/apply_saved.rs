//! `sis apply PLAN.json`: a saved plan carried out once, exactly as reviewed, or refused as
//! stale when the spec or the hosts changed since it was made (docs/saved-plan.md).

use std::time::Instant;

use sis_executor::{execute_until, observe, Basis, ConvergeReport, Ending, Event, Progress};

use super::apply::{finish, options, ApplyProgress};
use crate::cli::ApplyArgs;
use crate::exit::{self, CliError, CliResult};
use crate::saved_plan::{spec_hash, SavedPlan};
use crate::signals::interrupt_on_signals;
use crate::spec::load_spec;

pub async fn apply_saved(args: ApplyArgs, saved: SavedPlan) -> CliResult {
    if !args.targets.is_empty() {
        return Err(CliError::new(
            "--target does not go with a saved plan: it keeps the targets it was made with \
             (`sis plan SPEC --target host:NAME --out FILE.json`)",
        ));
    }
    let spec_file = saved.spec.path.clone();
    let progress = ApplyProgress::new(&args, &saved.spec.cluster, true);
    let remake = format!(
        "make a new plan with `sis plan {} --out {}`",
        spec_file.display(),
        args.file.display()
    );
    let stale = |why: Vec<String>| {
        let mut text = format!("stale plan {}: nothing was done.", args.file.display());
        for w in &why {
            text.push_str(&format!("\n  {w}"));
        }
        text.push_str(&format!("\nReview the changes and {remake}."));
        progress.error(text, exit::STALE)
    };
    let spec = load_spec(&spec_file).map_err(|e| {
        stale(vec![format!(
            "the spec {} the plan was made from cannot be loaded: {e}",
            spec_file.display()
        )])
    })?;
    if spec_hash(&spec) != saved.spec.hash {
        return Err(stale(vec![format!(
            "the spec {} changed since the plan was made",
            spec_file.display()
        )]));
    }
    let targets =
        crate::spec::targets(&spec, &saved.targets).map_err(|e| progress.error(e, exit::ERROR))?;
    let hosts =
        crate::hosts::connect(&spec, &spec_file).map_err(|e| progress.error(e, exit::ERROR))?;
    let cancel = interrupt_on_signals();
    let lock = crate::apply_lock::take(&spec, &hosts, "apply")
        .await
        .map_err(|e| progress.error(e, exit::ERROR))?;

    // Under the lock: the hosts must be as the plan saw them.
    progress.event(&Event::Observing { pass: 1 });
    let observed = observe(&spec, &hosts).await;
    progress.event(&Event::Observed {
        pass: 1,
        observed: &observed,
    });
    let changes = Basis::of(&spec, &observed).changes_since(&saved.observed.basis);
    if !changes.is_empty() {
        let _ = crate::apply_lock::release(&hosts, &lock).await;
        let mut why = vec![format!(
            "the hosts changed since the plan was made ({} difference{}):",
            changes.len(),
            crate::output::plural(changes.len())
        )];
        why.extend(changes.into_iter().map(|c| format!("  {c}")));
        return Err(stale(why));
    }

    progress.event(&Event::Planned {
        pass: 1,
        plan: &saved.plan,
    });
    let started = Instant::now();
    let mut opts = options(&args);
    opts.exec.disk_floors = sis_executor::disk::floors(&spec, &observed);
    opts.exec.running_nodes = sis_executor::pacing::running_nodes(&observed);
    let deadline = tokio::time::Instant::now() + args.timeout;
    let (pass, timed_out) = execute_until(
        &saved.plan,
        &spec.name,
        &spec.network.name,
        &hosts,
        &opts.exec,
        &progress,
        &cancel,
        deadline,
    )
    .await;

    // One pass only; a fresh plan tells whether more are needed.
    let after = observe(&spec, &hosts).await;
    let left = match sis_planner::plan(&spec, &after) {
        Ok(plan) => {
            let plan = match &targets {
                Some(t) => t.restrict(plan),
                None => plan,
            };
            (!plan.is_empty()).then(|| plan.summary())
        }
        Err(e) => {
            eprintln!("warning: cannot plan again after the saved plan: {e}");
            Some(Default::default())
        }
    };
    if let Err(e) = crate::apply_lock::release(&hosts, &lock).await {
        eprintln!(
            "warning: could not remove the apply lock: {e}; run `sis unlock {}`",
            spec_file.display()
        );
    }
    let no_headroom = pass.no_headroom.clone();
    let ending = if pass.failures().next().is_some() {
        Ending::Failed
    } else if no_headroom.is_some() {
        Ending::NoHeadroom
    } else if *cancel.borrow() {
        Ending::Interrupted
    } else if timed_out.is_some() {
        Ending::TimedOut
    } else {
        Ending::Converged
    };
    let report = ConvergeReport {
        ending,
        first_plan: saved.plan.clone(),
        observed: after,
        passes: vec![pass],
        running_at_timeout: timed_out.unwrap_or_default(),
        elapsed: started.elapsed(),
        no_headroom,
    };
    finish(&args, &spec_file, &progress, &report, Some(left))
}

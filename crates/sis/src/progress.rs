//! Progress on stderr: bars on a terminal, plain lines otherwise, nothing with `--quiet`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sis_executor::{Event, Outcome, Progress};
use sis_types::Phase;

/// How progress is shown.
pub enum Reporter {
    Quiet,
    Lines,
    Bars(Mutex<Bars>),
}

pub struct Bars {
    multi: MultiProgress,
    /// One bar per phase in progress (the node → swarm2 phases run at the same time).
    bars: BTreeMap<Phase, ProgressBar>,
}

impl Reporter {
    pub fn new(quiet: bool) -> Reporter {
        if quiet {
            Reporter::Quiet
        } else if std::io::stderr().is_terminal() {
            Reporter::Bars(Mutex::new(Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: BTreeMap::new(),
            }))
        } else {
            Reporter::Lines
        }
    }

    /// A line above the bars (or on its own line).
    fn line(&self, text: &str) {
        match self {
            Reporter::Quiet => {}
            Reporter::Lines => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
            Reporter::Bars(bars) => {
                let bars = bars.lock().expect("progress lock");
                let _ = bars.multi.println(text);
            }
        }
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl Progress for Reporter {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Observing { pass } if *pass > 1 => {
                self.line(&format!("pass {pass}: observing the hosts again"))
            }
            Event::Observing { .. } => {}
            Event::Observed { .. } => {}
            Event::Planned { pass, plan } if *pass > 1 && !plan.is_empty() => {
                let s = plan.summary();
                self.line(&format!(
                    "pass {pass}: {} to add, {} to change, {} to remove",
                    s.add, s.change, s.remove
                ));
            }
            Event::Planned { .. } => {}
            Event::PhaseStarted { phase, actions } => match self {
                Reporter::Bars(bars) => {
                    let mut bars = bars.lock().expect("progress lock");
                    let bar = bars.multi.add(ProgressBar::new(*actions as u64));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:>20} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {wide_msg}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(phase.title());
                    bar.enable_steady_tick(Duration::from_millis(200));
                    bars.bars.insert(*phase, bar);
                }
                _ => self.line(&format!("{}: {actions} action(s)", phase.title())),
            },
            Event::ActionStarted { .. } => {}
            Event::ActionFinished {
                phase,
                action,
                outcome,
                elapsed,
                attempts,
            } => {
                let what = format!(
                    "{} {}",
                    action.action.mark().symbol(),
                    action.action.describe()
                );
                let tries = if *attempts > 1 {
                    format!(", {attempts} attempts")
                } else {
                    String::new()
                };
                let text = match outcome {
                    Outcome::Done => format!("  {what}: done ({}{tries})", seconds(*elapsed)),
                    Outcome::Pending(why) => format!("  {what}: pending: {why}"),
                    Outcome::Failed { error, .. } => {
                        format!("  {what}: FAILED ({}{tries}): {error}", seconds(*elapsed))
                    }
                    Outcome::Skipped(why) => format!("  {what}: skipped: {why}"),
                };
                match self {
                    Reporter::Bars(bars) => {
                        let bars = bars.lock().expect("progress lock");
                        if let Some(bar) = bars.bars.get(phase) {
                            bar.inc(1);
                            bar.set_message(action.action.describe());
                        }
                        if !matches!(outcome, Outcome::Done) {
                            let _ = bars.multi.println(&text);
                        }
                    }
                    _ => self.line(&text),
                }
            }
            Event::PhaseFinished { phase, elapsed } => match self {
                Reporter::Bars(bars) => {
                    let mut bars = bars.lock().expect("progress lock");
                    if let Some(bar) = bars.bars.remove(phase) {
                        bar.set_message(format!("done in {}", seconds(*elapsed)));
                        bar.finish();
                    }
                }
                _ => self.line(&format!(
                    "{}: finished in {}",
                    phase.title(),
                    seconds(*elapsed)
                )),
            },
            Event::Milestone { .. } => {}
            Event::Transfer {
                image,
                from,
                to,
                bytes,
                elapsed,
                done,
            } => {
                let rate = *bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-3);
                let moved = format!("{:.1} MB", *bytes as f64 / 1e6);
                let text = if *done {
                    format!(
                        "  image {image}: {moved} copied from host {from} to host {to} in {} ({rate:.1} MB/s)",
                        seconds(*elapsed)
                    )
                } else {
                    format!(
                        "  image {image}: {moved} streamed from host {from} to host {to} ({rate:.1} MB/s)"
                    )
                };
                self.line(&text);
            }
            Event::Waiting { why, delay } => {
                self.line(&format!("waiting {} ({why})", seconds(*delay)));
            }
            Event::Pacing { hosts, message } => {
                self.line(&format!("pacing ({}): {message}", hosts.join(", ")));
            }
        }
    }
}

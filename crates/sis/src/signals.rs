//! Ctrl-C, SIGTERM and SIGHUP all ask a run to stop the same way: running actions finish, no
//! new ones start, the lock is released and sis exits 130. A second signal exits at once; the
//! lock then stays, and the next run on this machine takes it over (its holder is gone).

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

use crate::exit;

struct Signals {
    interrupt: Option<Signal>,
    terminate: Option<Signal>,
    hangup: Option<Signal>,
}

impl Signals {
    fn new() -> Signals {
        Signals {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
            hangup: signal(SignalKind::hangup()).ok(),
        }
    }

    /// Waits for the next signal; says which it was.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = recv(&mut self.interrupt) => "interrupted",
            _ = recv(&mut self.terminate) => "terminated (SIGTERM)",
            _ = recv(&mut self.hangup) => "hung up (SIGHUP)",
        }
    }
}

/// A signal that could not be set up, or whose stream ended, never arrives.
async fn recv(signal: &mut Option<Signal>) {
    if let Some(s) = signal {
        if s.recv().await.is_some() {
            return;
        }
    }
    std::future::pending::<()>().await
}

/// The receiver turns true at the first SIGINT, SIGTERM or SIGHUP.
pub fn interrupt_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    // Set up before returning, so a signal right after this call is not the default (death).
    let mut signals = Signals::new();
    tokio::spawn(async move {
        let what = signals.next().await;
        eprintln!(
            "\n{what}: letting running actions finish, starting no new ones (a second signal \
             exits at once; the lock then stays until the next run on this machine takes it over)"
        );
        let _ = tx.send(true);
        signals.next().await;
        std::process::exit(i32::from(exit::INTERRUPTED));
    });
    rx
}

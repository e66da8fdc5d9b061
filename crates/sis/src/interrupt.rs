//! Ctrl-C during `apply` and `destroy`.

use crate::exit;

/// Ctrl-C once: stop starting actions and let running ones finish. Twice: exit at once.
pub fn interrupt_on_ctrl_c() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\ninterrupted: letting running actions finish, starting no new ones \
                 (Ctrl-C again to exit at once; the apply lock then stays: `sis unlock`)"
            );
            let _ = tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        }
    });
    rx
}

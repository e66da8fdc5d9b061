//! Exit codes, in one place.

/// Success; for `plan --detailed-exitcode`: no changes.
pub const OK: u8 = 0;
/// Any error: bad spec, unreachable host, failed action, no convergence.
pub const ERROR: u8 = 1;
/// `plan --detailed-exitcode`: the plan has changes.
pub const CHANGES: u8 = 2;
/// Stopped by Ctrl-C.
pub const INTERRUPTED: u8 = 130;

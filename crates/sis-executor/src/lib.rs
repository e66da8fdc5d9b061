//! Executes plans; see `converge`.

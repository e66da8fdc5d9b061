//! One file per command. Each turns its arguments into options, calls the libraries, prints,
//! and returns a [`CliResult`](crate::exit::CliResult) whose error carries the exit code.

mod apply;
mod apply_saved;
mod chaos;
mod completions;
mod destroy;
mod doctor;
mod lab;
mod man;
mod plan;
mod report;
mod report_svg;
mod schema;
mod status;
mod unlock;
mod validate;
mod watch;

pub use apply::apply;
pub use chaos::chaos;
pub use completions::completions;
pub use destroy::destroy;
pub use doctor::doctor;
pub use lab::lab;
pub use man::man;
pub use plan::plan;
pub use report::report;
pub use schema::schema;
pub use status::status;
pub use unlock::unlock;
pub use validate::validate;
pub use watch::watch;

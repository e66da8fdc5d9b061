//! `sis schema`: the JSON Schema of the spec format.

use crate::exit::CliResult;

pub fn schema() -> CliResult {
    print!("{}", sis_spec::json_schema_text());
    Ok(())
}

//! `hotline diff`: what a policy change does to the definitions and the results.

use crate::Outcome;

/// Compares `old` and `new` (files or `REV:path`) on a month of data.
pub fn command(old: &str, new: &str, data: &std::path::Path, month: &str, format: crate::cli::DiffFormat) -> Outcome {
    let _ = (old, new, data, month, format);
    Outcome { stdout: String::new(), stderr: "error: `hotline diff` is not implemented yet\n".into(), code: 2 }
}

//! `hotline test`: the tests declared in policies.

use crate::Outcome;

/// Runs the tests of every policy under `paths`.
pub fn command(paths: &[std::path::PathBuf]) -> Outcome {
    let _ = paths;
    Outcome { stdout: String::new(), stderr: "error: `hotline test` is not implemented yet\n".into(), code: 2 }
}

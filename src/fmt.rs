//! `hotline fmt`: the canonical layout of a policy.

use crate::Outcome;

/// Formats `files` in `mode`.
pub fn command(files: &[std::path::PathBuf], mode: crate::cli::FmtMode) -> Outcome {
    let _ = (files, mode);
    Outcome { stdout: String::new(), stderr: "error: `hotline fmt` is not implemented yet\n".into(), code: 2 }
}

//! `hotline init`: a starter policy from a ticket export.

use crate::Outcome;

/// Infers a starter policy from `from`, written to `out` or returned on standard output.
pub fn command(from: &std::path::Path, out: Option<&std::path::Path>) -> Outcome {
    let _ = (from, out);
    Outcome { stdout: String::new(), stderr: "error: `hotline init` is not implemented yet\n".into(), code: 2 }
}

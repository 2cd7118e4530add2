//! `hotline watch`: the live notebook. This layer prints, like the CLI.

use std::path::PathBuf;
use std::process::ExitCode;

/// What `hotline watch` was asked to do.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The policy file.
    pub policy: PathBuf,
    /// The data folder.
    pub data: PathBuf,
    /// The month, `YYYY-MM`.
    pub month: String,
    /// The preview's port.
    pub port: u16,
    /// The address to serve on.
    pub host: String,
    /// Open the browser.
    pub open: bool,
    /// Serve a preview.
    pub serve: bool,
}

/// Watches and re-renders until interrupted.
pub fn run(options: WatchOptions) -> ExitCode {
    let _ = options;
    eprintln!("error: `hotline watch` is not implemented yet");
    ExitCode::from(2)
}

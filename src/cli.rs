//! Command-line arguments.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// hotline: citizen-hotline (12345) performance policies, checked and rendered.
#[derive(Debug, Parser)]
#[command(name = "hotline", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and type-check policies; report every problem.
    Check {
        /// Policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Evaluate a policy on a month of data and render the report.
    Render {
        /// The policy file.
        policy: PathBuf,
        /// The data folder: one folder per month (`DIR/2023-03/tickets.csv`).
        #[arg(long)]
        data: PathBuf,
        /// The month to report, `YYYY-MM`.
        #[arg(long)]
        month: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Md)]
        format: OutputFormat,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Markdown.
    Md,
    /// One self-contained HTML page with charts, for print and browsers.
    Html,
    /// Tables for the terminal.
    Terminal,
    /// The whole evaluated model, numbers as exact decimal strings.
    Json,
}

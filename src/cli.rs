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
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
        format: DiagnosticFormat,
    },
    /// Format policies in the canonical layout.
    Fmt {
        /// Policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Exit 1 and name the files that are not formatted; change nothing.
        #[arg(long, conflicts_with = "write")]
        check: bool,
        /// Rewrite the files in place.
        #[arg(long)]
        write: bool,
    },
    /// What a policy change does: changed definitions, then changed results.
    Diff {
        /// The old policy: a file, or `REV:path` in the current git repository.
        old: String,
        /// The new policy: a file, or `REV:path`.
        new: String,
        /// The data folder.
        #[arg(long)]
        data: PathBuf,
        /// The month, `YYYY-MM`.
        #[arg(long, required_unless_present = "period", conflicts_with = "period")]
        month: Option<String>,
        /// The months: `2023-Q1`, `2023`, `2023-01..2023-06`, `last 3 months`.
        #[arg(long)]
        period: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffFormat::Md)]
        format: DiffFormat,
    },
    /// Run the tests declared in policies (`*.policy`, `*.test.policy`).
    Test {
        /// Policy files or folders (default: the current folder).
        paths: Vec<PathBuf>,
    },
    /// Re-render on every edit of the policy or its data, with a live preview in the browser.
    Watch {
        /// The policy file.
        policy: PathBuf,
        /// The data folder.
        #[arg(long)]
        data: PathBuf,
        /// The month, `YYYY-MM`.
        #[arg(long, required_unless_present = "period", conflicts_with = "period")]
        month: Option<String>,
        /// The months: `2023-Q1`, `2023`, `2023-01..2023-06`, `last 3 months`.
        #[arg(long)]
        period: Option<String>,
        /// The preview's port (0: any free port).
        #[arg(long, default_value_t = 8345)]
        port: u16,
        /// The address to serve on; anything but loopback is reachable from the network.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Open the preview in the browser.
        #[arg(long)]
        open: bool,
        /// Do not serve a preview; only print.
        #[arg(long)]
        no_serve: bool,
        /// Also write each good report (HTML) to this file, atomically.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Where a unit's numbers come from: definition, inputs, exact value, rounding.
    Explain {
        /// The policy file.
        policy: PathBuf,
        /// The data folder.
        #[arg(long)]
        data: PathBuf,
        /// The month, `YYYY-MM`.
        #[arg(long, required_unless_present = "period", conflicts_with = "period")]
        month: Option<String>,
        /// The months: `2023-Q1`, `2023`, `2023-01..2023-06`, `last 3 months`.
        #[arg(long)]
        period: Option<String>,
        /// The unit (an old name works too).
        #[arg(long)]
        unit: String,
        /// Only this metric or score.
        #[arg(long)]
        metric: Option<String>,
    },
    /// The analyst's commentary of a month: `commentary new` starts it.
    Commentary {
        /// What to do.
        #[command(subcommand)]
        action: CommentaryAction,
    },
    /// Write a starter policy from a month's ticket export.
    Init {
        /// The export to start from, e.g. `DIR/2023-03/tickets.csv`.
        #[arg(long)]
        from: PathBuf,
        /// Write the policy here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Evaluate a policy on a month (or a period) of data and render the report.
    Render {
        /// The policy file.
        policy: PathBuf,
        /// The data folder: one folder per month (`DIR/2023-03/tickets.csv`).
        #[arg(long)]
        data: PathBuf,
        /// The month to report, `YYYY-MM`.
        #[arg(long, required_unless_present = "period", conflicts_with = "period")]
        month: Option<String>,
        /// The months to report: `2023-Q1`, `2023-H1`, `2023`, `2023-01..2023-06`,
        /// or `last 3 months` (ending with the latest month in the data folder).
        #[arg(long)]
        period: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Md)]
        format: OutputFormat,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Warnings are errors: a missing month, a hot topic without its commentary, an
        /// entry that describes nothing this month; nothing is written.
        #[arg(long)]
        strict: bool,
    },
}

/// `hotline commentary` actions.
#[derive(Debug, Subcommand)]
pub enum CommentaryAction {
    /// Start the month's commentary: a heading for each item to write about (this month's
    /// hot topics), the month's figures of each as a comment to write from.
    New {
        /// The policy file.
        policy: PathBuf,
        /// The data folder: the skeleton goes into the month's folder.
        #[arg(long)]
        data: PathBuf,
        /// The month, `YYYY-MM`.
        #[arg(long, required_unless_present = "period", conflicts_with = "period")]
        month: Option<String>,
        /// The months: `2023-Q1`, `2023`.
        #[arg(long)]
        period: Option<String>,
        /// Write here instead of the month's folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `hotline fmt` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FmtMode {
    /// Print the formatted text to standard output.
    Print,
    /// Exit 1 and name the files that are not formatted.
    Check,
    /// Rewrite the files in place.
    Write,
}

/// Formats of `hotline diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Markdown, written to be posted as a pull-request comment.
    Md,
    /// For tools.
    Json,
    /// Tables for the terminal.
    Terminal,
}

/// Formats of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// Rendered for people, with the source lines.
    Human,
    /// One JSON document for tools.
    Json,
    /// GitHub workflow annotation lines (`::error file=…,line=…,col=…::message`).
    Github,
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

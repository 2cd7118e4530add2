#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
//! The `hotline` command. Only this layer prints.

use clap::Parser;
use hotline::cli::{Cli, Command, CommentaryAction, DiagnosticFormat, FmtMode, OutputFormat};
use hotline::span::SourceFile;
use hotline::Problem;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check {
            files,
            strict,
            format,
        } => check(&files, strict, format),
        Command::Fmt {
            files,
            check,
            write,
        } => {
            let mode = if check {
                FmtMode::Check
            } else if write {
                FmtMode::Write
            } else {
                FmtMode::Print
            };
            emit(hotline::fmt::command(&files, mode))
        }
        Command::Diff {
            old,
            new,
            data,
            month,
            period,
            format,
        } => emit(hotline::diff::command(
            &old,
            &new,
            &data,
            (month.as_deref(), period.as_deref()),
            format,
        )),
        Command::Watch {
            policy,
            data,
            month,
            period,
            port,
            host,
            open,
            no_serve,
            output,
        } => hotline::watch::run(hotline::watch::WatchOptions {
            output,
            policy,
            data,
            month,
            period,
            port,
            host,
            open,
            serve: !no_serve,
        }),
        Command::Explain {
            policy,
            data,
            month,
            period,
            unit,
            metric,
        } => emit(hotline::explain::command(
            &policy,
            &data,
            (month.as_deref(), period.as_deref()),
            &unit,
            metric.as_deref(),
        )),
        Command::Test { paths } => emit(hotline::policytest::command(&paths)),
        Command::Init { from, out } => emit(hotline::init::command(&from, out.as_deref())),
        Command::Commentary {
            action:
                CommentaryAction::New {
                    policy,
                    data,
                    month,
                    period,
                    out,
                },
        } => emit(hotline::commentary::new_command(
            &policy,
            &data,
            (month.as_deref(), period.as_deref()),
            out.as_deref(),
        )),
        Command::Render {
            policy,
            data,
            month,
            period,
            format,
            output,
            strict,
        } => render(
            &policy,
            &data,
            (month.as_deref(), period.as_deref()),
            format,
            output.as_deref(),
            strict,
        ),
    }
}

/// Prints what a library command produced and exits with its code.
fn emit(outcome: hotline::Outcome) -> ExitCode {
    let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
    eprint!("{}", outcome.stderr);
    ExitCode::from(outcome.code)
}

fn read_policy(path: &Path) -> Result<SourceFile, ExitCode> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(SourceFile::new(path.display().to_string(), text)),
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", path.display());
            Err(ExitCode::from(2))
        }
    }
}

fn print_problems(file: &SourceFile, problems: Vec<Problem>) {
    let mut out = String::new();
    for problem in problems {
        out.push_str(&hotline::render_diagnostic(
            file,
            problem,
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ));
    }
    eprint!("{out}");
}

fn check(files: &[std::path::PathBuf], strict: bool, format: DiagnosticFormat) -> ExitCode {
    let mut failed = false;
    let mut json = Vec::new();
    for path in files {
        let file = match read_policy(path) {
            Ok(f) => f,
            Err(code) => return code,
        };
        let problems = match hotline::compile(&file) {
            Ok(checked) => checked.warnings.into_iter().map(Problem::Check).collect(),
            Err(problems) => problems,
        };
        let errors = problems
            .iter()
            .filter(|p| strict || !p.is_warning())
            .count();
        let warnings = problems.len() - errors;
        failed |= errors > 0;
        match format {
            DiagnosticFormat::Human => {
                print_problems(&file, problems);
                let plural =
                    |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
                match (errors, warnings) {
                    (0, 0) => eprintln!("{}: ok", path.display()),
                    (0, w) => eprintln!("{}: ok, {}", path.display(), plural(w, "warning")),
                    (e, _) if strict => eprintln!(
                        "{}: {} (warnings count as errors with --strict)",
                        path.display(),
                        plural(e, "error")
                    ),
                    (e, _) => eprintln!("{}: {}", path.display(), plural(e, "error")),
                }
            }
            DiagnosticFormat::Json => {
                for problem in &problems {
                    let mut value = hotline::diagnostic_json(&file, problem);
                    if strict {
                        value["severity"] = serde_json::Value::from("error");
                    }
                    json.push(value);
                }
            }
            DiagnosticFormat::Github => {
                for problem in &problems {
                    let line = hotline::github_annotation(&file, problem);
                    let line = if strict {
                        line.replacen("::warning ", "::error ", 1)
                    } else {
                        line
                    };
                    println!("{line}");
                }
            }
        }
    }
    if format == DiagnosticFormat::Json {
        let doc = serde_json::json!({ "ok": !failed, "diagnostics": json });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn render(
    policy: &Path,
    data: &Path,
    (month, period): (Option<&str>, Option<&str>),
    format: OutputFormat,
    output: Option<&Path>,
    strict: bool,
) -> ExitCode {
    let file = match read_policy(policy) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let period = match hotline::months_asked(month, period, data) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let checked = match hotline::compile(&file) {
        Ok(c) => c,
        Err(problems) => {
            print_problems(&file, problems);
            return ExitCode::from(1);
        }
    };
    let problems = checked
        .warnings
        .iter()
        .cloned()
        .map(Problem::Check)
        .collect();
    print_problems(&file, problems);
    let bar = LoadProgress::new();
    let evaluated = hotline::evaluate_period(&checked, data, period, &|path, read, size| {
        bar.update(path, read, size)
    });
    bar.finish();
    let model = match evaluated {
        Ok(m) => m,
        Err(problems) => {
            print_problems(&file, problems);
            return ExitCode::from(1);
        }
    };
    print_problems(
        &file,
        model.warnings.iter().cloned().map(Problem::Eval).collect(),
    );
    let warned = checked.warnings.len() + model.warnings.len();
    if strict && warned > 0 {
        eprintln!("error: {warned} warning(s), which --strict makes errors; nothing was written");
        return ExitCode::from(1);
    }
    for source in &model.sources {
        if let Some(encoding) = source
            .encoding
            .as_deref()
            .filter(|e| e.ends_with("(detected)"))
        {
            eprintln!("note: `{}` read as {encoding}", source.file);
        }
    }
    let text = match format {
        OutputFormat::Md => hotline::render::markdown(&model),
        OutputFormat::Json => hotline::render::json(&model),
        OutputFormat::Html => hotline::render::html(&model),
        OutputFormat::Terminal => {
            let on_terminal =
                output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
            hotline::render::terminal(&model, if on_terminal { None } else { Some(120) })
        }
    };
    let result = match output {
        Some(path) => hotline::render::write_atomically(path, text.as_bytes()),
        None => std::io::stdout().write_all(text.as_bytes()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the report: {e}");
            ExitCode::from(1)
        }
    }
}

/// A progress bar for reading large data files: drawn on a terminal only, and
/// only once reading has taken more than a second.
struct LoadProgress {
    bar: Option<indicatif::ProgressBar>,
    started: std::time::Instant,
    shown: std::sync::atomic::AtomicBool,
}

impl LoadProgress {
    fn new() -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::hidden(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg} {wide_bar} {binary_bytes}/{binary_total_bytes} {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        LoadProgress {
            bar,
            started: std::time::Instant::now(),
            shown: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn update(&self, path: &std::path::Path, read: u64, size: u64) {
        use std::sync::atomic::Ordering;
        let Some(bar) = &self.bar else { return };
        bar.set_message(path.display().to_string());
        bar.set_length(size);
        bar.set_position(read);
        if !self.shown.load(Ordering::Relaxed)
            && self.started.elapsed() >= std::time::Duration::from_secs(1)
        {
            self.shown.store(true, Ordering::Relaxed);
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

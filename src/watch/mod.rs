//! `hotline watch`: the live notebook. This layer prints, like the CLI.
//!
//! ```text
//!  file events ──relevant? until 15 ms quiet──▶ build (compile, cached tables, evaluate, render)
//!                                                   │
//!                      terminal: clear, `rendered in N ms` or diagnostics
//!                      server:   new page + `/state.json`, `reload` on every event stream
//! ```
//!
//! - What is watched: the policy, `x.test.policy` next to it, and the data files the policy
//!   reads (the month's folder, and the previous month's for `previous month` sources). Editors
//!   save by writing another file and renaming it over the old one, and folders come and go, so
//!   the *folders* holding those files are watched (or, while a folder is missing, the nearest
//!   one that exists) and events are filtered to the files and the folders on their way.
//!   Read-only access events are ignored: reading the inputs would otherwise trigger itself.
//! - Nothing is written to disk: pages are served from memory. Ctrl-C ends the process by
//!   the default signal action (no handler is installed), which leaves no temporary file
//!   behind and needs no clean-up.
//! - Tables are cached by path, content hash and how they are read (`watch/cache.rs`): editing the
//!   policy re-reads no unchanged data file.
//! - A failed build never ends the watch: the preview keeps the last good report, marked stale,
//!   with the diagnostics over it; when only report sections fail, the other sections are fresh.

mod build;
mod cache;
mod page;
mod server;

use build::{Build, Builder, Status};
use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher as _};
use serde_json::{json, Value};
use server::{Published, Shared};
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `hotline watch` was asked to do.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The policy file.
    pub policy: PathBuf,
    /// The data folder.
    pub data: PathBuf,
    /// The month, `YYYY-MM`.
    pub month: Option<String>,
    /// The months, `2023-Q1` (instead of a month).
    pub period: Option<String>,
    /// The preview's port.
    pub port: u16,
    /// The address to serve on.
    pub host: String,
    /// Open the browser.
    pub open: bool,
    /// Serve a preview.
    pub serve: bool,
    /// Where each good report is also written (HTML), if anywhere.
    pub output: Option<PathBuf>,
}

/// How long after a relevant file event a build waits for more: the events of one save
/// (a temporary file written and renamed) come within a millisecond or two of each other.
const QUIET: Duration = Duration::from_millis(15);

type Watcher = notify::RecommendedWatcher;

/// Watches and re-renders until interrupted.
pub fn run(options: WatchOptions) -> ExitCode {
    let month = match crate::months_asked(
        options.month.as_deref(),
        options.period.as_deref(),
        &options.data,
    ) {
        Ok(period) => period,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let policy = match std::path::absolute(&options.policy) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot resolve `{}`: {e}", options.policy.display());
            return ExitCode::from(2);
        }
    };
    let tests = build::test_file(&policy);

    let shared = Arc::new(Shared::new(Published {
        version: 0,
        page: Arc::new(page::diagnostics_only(&page::Decor::default())),
        state: Arc::new(json!({ "version": 0, "ok": false, "status": "building" }).to_string()),
    }));
    let server = if options.serve {
        match server::start(&options.host, options.port, shared.clone()) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!(
                    "error: cannot serve the preview on {}:{}: {e}",
                    options.host, options.port
                );
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    if let Some(s) = &server {
        eprintln!("preview: {}", s.url);
        if !s.addr.ip().is_loopback() {
            eprintln!(
                "warning: the preview listens on {} and is reachable from the network: anyone who can reach this machine can read the report",
                s.addr
            );
        }
    }

    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = match notify::recommended_watcher(tx) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: cannot watch files: {e}");
            return ExitCode::from(1);
        }
    };
    if options.open {
        match &server {
            Some(s) => open_browser(&s.url),
            None => eprintln!("note: nothing to open with --no-serve"),
        }
    }

    let tty = std::io::stdout().is_terminal();
    let mut builder = Builder::new(options.policy.clone(), options.data.clone(), month, tty);
    let mut files = Files {
        policy: policy.clone(),
        tests: tests.clone(),
        data: initial_data_files(&options, &builder),
    };
    let mut watched = Watched::default();
    let mut touched = BTreeSet::new();
    let heading = format!(
        "hotline watch · {} · {}{}\n\n",
        options.policy.display(),
        month,
        server
            .as_ref()
            .map(|s| format!(" · preview {}", s.url))
            .unwrap_or_default()
    );
    let mut version = 0u64;
    loop {
        watched.refresh(&mut watcher, &files.all(), &touched);
        version += 1;
        let build = builder.build(version);
        let mut data_changed = false;
        if let Some(found) = &build.data_files {
            let found: Vec<PathBuf> = found
                .iter()
                .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
                .collect();
            data_changed = found != files.data;
            files.data = found;
        }
        shared.publish(Published {
            version,
            page: Arc::new(build.page.clone()),
            state: Arc::new(state_json(&build, version, &Value::Null)),
        });
        print_run(&build, tty.then_some(heading.as_str()));
        if let (Some(path), Some(html)) = (&options.output, builder.fresh_report(&build)) {
            // A report that cannot be written is said, and the watch goes on serving it.
            match crate::render::write_atomically(path, html.as_bytes()) {
                Ok(()) => println!("wrote {}", path.display()),
                Err(e) => eprintln!(
                    "warning: cannot write `{}`: {e}; the preview still shows the report",
                    path.display()
                ),
            }
        }
        if build.data_files.is_some() {
            let results = run_tests(&options.policy, tests.as_deref(), build.has_tests);
            if !results.is_null() {
                shared.set_state(state_json(&build, version, &results));
            }
        }
        // The policy now reads other files: watch their folders, and build again in case one
        // changed before it was watched.
        if data_changed && watched.refresh(&mut watcher, &files.all(), &BTreeSet::new()) {
            touched.clear();
            continue;
        }
        match wait(&rx, &files.all(), &watched) {
            Some(t) => touched = t,
            None => break,
        }
    }
    ExitCode::SUCCESS
}

/// The data files of the policy as it is at the start, so their folders are watched from the
/// first build on.
fn initial_data_files(options: &WatchOptions, builder: &Builder) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(&options.policy) else {
        return Vec::new();
    };
    let file = crate::span::SourceFile::new(options.policy.display().to_string(), text);
    match crate::compile(&file) {
        Ok(checked) => builder
            .data_files(&checked)
            .iter()
            .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The files a build reads, as absolute paths.
struct Files {
    policy: PathBuf,
    tests: Option<PathBuf>,
    data: Vec<PathBuf>,
}

impl Files {
    fn all(&self) -> Vec<PathBuf> {
        let mut all = vec![self.policy.clone()];
        all.extend(self.tests.iter().cloned());
        all.extend(self.data.iter().cloned());
        all
    }
}

/// The folders being watched.
#[derive(Default)]
struct Watched {
    dirs: BTreeSet<PathBuf>,
}

impl Watched {
    /// Watches the folders of `files` (the nearest existing folder of a missing one), stops
    /// watching others, and watches `touched` folders anew (they may have been deleted and made
    /// again). Whether a folder was added.
    fn refresh(
        &mut self,
        watcher: &mut Watcher,
        files: &[PathBuf],
        touched: &BTreeSet<PathBuf>,
    ) -> bool {
        let wanted: BTreeSet<PathBuf> = files.iter().filter_map(|f| existing_folder(f)).collect();
        for dir in self.dirs.difference(&wanted) {
            let _ = watcher.unwatch(dir);
        }
        let mut added = false;
        let mut now = BTreeSet::new();
        for dir in wanted {
            let had = self.dirs.contains(&dir);
            if had && !touched.contains(&dir) {
                now.insert(dir);
                continue;
            }
            if had {
                let _ = watcher.unwatch(&dir);
            }
            match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    added |= !had;
                    now.insert(dir);
                }
                Err(e) => eprintln!("warning: cannot watch `{}`: {e}", dir.display()),
            }
        }
        self.dirs = now;
        added
    }

    /// The watched folders an event is about (the folder itself, or a folder above it, was
    /// removed, renamed or made).
    fn touched_by(&self, event: &notify::Event) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .filter(|d| event.paths.iter().any(|p| d.starts_with(p)))
            .cloned()
            .collect()
    }
}

/// The folder of `file`, or the nearest folder above it that exists.
fn existing_folder(file: &Path) -> Option<PathBuf> {
    let mut dir = file.parent()?;
    loop {
        if dir.is_dir() {
            return Some(dir.to_path_buf());
        }
        dir = dir.parent()?;
    }
}

/// Whether an event can change what a build reads: a change of one of `files` or of a folder
/// on the way to one. Reads are not changes.
fn relevant(event: &notify::Event, files: &[PathBuf]) -> bool {
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return false,
        _ => {}
    }
    event.need_rescan()
        || event
            .paths
            .iter()
            .any(|p| files.iter().any(|f| f.starts_with(p)))
}

/// Waits for a relevant change, then for the burst it belongs to to end: events are taken
/// until no relevant one has come for [`QUIET`] (an editor's save, a burst of saves, become
/// one build). The folders touched; `None` when the watcher has stopped.
fn wait(
    rx: &Receiver<notify::Result<notify::Event>>,
    files: &[PathBuf],
    watched: &Watched,
) -> Option<BTreeSet<PathBuf>> {
    let mut touched = BTreeSet::new();
    // When the burst ends unless another relevant event comes.
    let mut until: Option<Instant> = None;
    loop {
        let next = match until {
            None => rx.recv().ok()?,
            Some(end) => {
                let left = end.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(r) => r,
                    Err(RecvTimeoutError::Timeout) => return Some(touched),
                    Err(RecvTimeoutError::Disconnected) => return None,
                }
            }
        };
        match next {
            Ok(event) => {
                touched.extend(watched.touched_by(&event));
                if relevant(&event, files) {
                    until = Some(Instant::now() + QUIET);
                }
            }
            Err(e) => eprintln!("warning: watching files: {e}"),
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn print_run(build: &Build, heading: Option<&str>) {
    let mut out = String::new();
    if let Some(heading) = heading {
        out.push_str("\x1b[2J\x1b[H");
        out.push_str(heading);
    }
    let ms = build.elapsed.as_millis();
    let tables = format!(
        "tables: {} read, {} cached",
        build.tables_read, build.tables_cached
    );
    match build.status {
        Status::Ok => {
            out.push_str(&build.warnings_terminal);
            out.push_str(&format!("rendered in {ms} ms ({tables})"));
            if build.warning_count > 0 {
                out.push_str(&format!(", {}", plural(build.warning_count, "warning")));
            }
            out.push('\n');
        }
        Status::Partial => {
            out.push_str(&build.errors_terminal);
            out.push_str(&build.warnings_terminal);
            out.push_str(&format!(
                "{} in report sections: the other sections rendered in {ms} ms ({tables})\n",
                plural(build.error_count, "error")
            ));
        }
        Status::Failed => {
            out.push_str(&build.errors_terminal);
            out.push_str(&build.warnings_terminal);
            let shown = if build.has_good {
                "the preview keeps the last good report"
            } else {
                "no report yet"
            };
            out.push_str(&format!(
                "{}: {shown}\n",
                plural(build.error_count, "error")
            ));
        }
    }
    if !build.unmapped.is_empty() {
        out.push_str(&format!(
            "note: no tooltips for the columns {}\n",
            build.unmapped.join("、")
        ));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// Runs the policy's tests (its own and `x.test.policy`'s), prints a summary and returns it
/// for `/state.json` (`null` when there are none).
fn run_tests(policy: &Path, tests: Option<&Path>, declared: bool) -> Value {
    let sibling = tests.filter(|t| t.is_file()).map(|t| {
        // The sibling as the user would name it: next to the policy as given.
        match (policy.parent(), t.file_name()) {
            (Some(dir), Some(name)) => dir.join(name),
            _ => t.to_path_buf(),
        }
    });
    if sibling.is_none() && !declared {
        return Value::Null;
    }
    let (summary, value) = match crate::policytest::run_file(policy, sibling.as_deref()) {
        Ok(run) => {
            let mut text = String::new();
            for (_, diagnostic) in &run.failed {
                text.push_str(diagnostic);
            }
            let failed: Vec<&String> = run.failed.iter().map(|(name, _)| name).collect();
            text.push_str(&format!(
                "tests: {} passed, {} failed\n",
                run.passed.len(),
                failed.len()
            ));
            let value = json!({ "passed": run.passed.len(), "failed": failed });
            (text, value)
        }
        Err(text) => {
            let value = json!({ "passed": 0, "failed": [], "error": text });
            (
                format!("{text}tests: the policy with its tests does not compile\n"),
                value,
            )
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(summary.as_bytes());
    let _ = stdout.flush();
    value
}

fn state_json(build: &Build, version: u64, tests: &Value) -> String {
    let status = match build.status {
        Status::Ok => "ok",
        Status::Partial => "partial",
        Status::Failed => "failed",
    };
    json!({
        "version": version,
        "ok": build.status == Status::Ok,
        "status": status,
        "stale": build.stale,
        "rendered_in_ms": build.elapsed.as_millis() as u64,
        "errors": build.error_count,
        "diagnostics": build.errors_plain,
        "warnings": build.warnings_plain,
        "tables": { "read": build.tables_read, "cached": build.tables_cached },
        "phases_ms": build
            .phases
            .iter()
            .map(|(name, d)| (name.to_string(), json!((d.as_secs_f64() * 10000.0).round() / 10.0)))
            .collect::<serde_json::Map<String, Value>>(),
        "unmapped_columns": build.unmapped,
        "tests": tests,
    })
    .to_string()
}

/// Opens the preview in the browser, if there is a way to.
fn open_browser(url: &str) {
    let (program, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("cmd", vec!["/C", "start", "", url])
    } else {
        ("xdg-open", vec![url])
    };
    let child = std::process::Command::new(program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            let url = url.to_string();
            let program = program.to_string();
            let _ = std::thread::Builder::new()
                .name("open-browser".into())
                .spawn(move || {
                    if child.wait().map(|s| !s.success()).unwrap_or(true) {
                        eprintln!(
                            "note: `{program}` could not open a browser; open {url} yourself"
                        );
                    }
                });
        }
        Err(e) => eprintln!("note: cannot open a browser (`{program}`: {e}); open {url} yourself"),
    }
}

//! Times each stage of the pipeline on one policy and month, in-process, so the
//! cost of each stage can be seen apart from process start-up:
//!
//! ```text
//! cargo run --release --example phases -- POLICY --data DIR --month YYYY-MM [--runs N]
//! ```
//!
//! Prints the median and the fastest of N runs (default 30) for: parse + check
//! (`compile`), loading whole tables (`load`, as the watch cache does), evaluating on
//! loaded tables (`evaluate`; `evaluate explained` records explanations, as the
//! watch does), loading and evaluating in one streamed pass as
//! `hotline render` does (`evaluate streamed`), and rendering Markdown and HTML.
//! `--only STAGE` times one stage alone (for a profiler).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut policy = None;
    let mut data = None;
    let mut month = None;
    let mut runs = 30usize;
    let mut only = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = args.next().map(PathBuf::from),
            "--month" => month = args.next(),
            "--only" => only = args.next(),
            "--runs" => runs = args.next().and_then(|r| r.parse().ok()).unwrap_or(runs),
            _ => policy = Some(PathBuf::from(arg)),
        }
    }
    let (Some(policy), Some(data), Some(month)) = (policy, data, month) else {
        eprintln!("usage: phases POLICY --data DIR --month YYYY-MM [--runs N] [--only STAGE]");
        return ExitCode::from(2);
    };
    let Some(month) = hotline::Month::parse(&month) else {
        eprintln!("`{month}` is not a month");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&policy) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("cannot read {}: {e}", policy.display());
            return ExitCode::from(2);
        }
    };
    let file = hotline::span::SourceFile::new(policy.display().to_string(), text);
    let Ok(checked) = hotline::compile(&file) else {
        eprintln!("the policy does not compile; run `hotline check`");
        return ExitCode::FAILURE;
    };
    let Ok(tables) = hotline::eval::load(&checked, &data, month) else {
        eprintln!("the data does not load; run `hotline render`");
        return ExitCode::FAILURE;
    };
    let Ok(model) = hotline::evaluate(&checked, &data, month) else {
        eprintln!("the policy does not evaluate; run `hotline render`");
        return ExitCode::FAILURE;
    };

    time(only.as_deref(), "compile", runs, || {
        let _ = hotline::compile(&file);
    });
    time(only.as_deref(), "load", runs, || {
        let _ = hotline::eval::load(&checked, &data, month);
    });
    time(only.as_deref(), "evaluate", runs, || {
        let _ = hotline::eval::evaluate_tables(&checked, tables.clone(), month, true);
    });
    time(only.as_deref(), "evaluate explained", runs, || {
        let options = hotline::eval::Options {
            with_report: true,
            explain: true,
        };
        let _ = hotline::eval::evaluate_with(&checked, tables.clone(), month, options);
    });
    time(only.as_deref(), "evaluate streamed", runs, || {
        let _ = hotline::evaluate(&checked, &data, month);
    });
    time(only.as_deref(), "render md", runs, || {
        let _ = hotline::render::markdown(&model);
    });
    time(only.as_deref(), "render html", runs, || {
        let _ = hotline::render::html(&model);
    });
    ExitCode::SUCCESS
}

fn time(only: Option<&str>, stage: &str, runs: usize, mut run: impl FnMut()) {
    if only.is_some_and(|o| o != stage) {
        return;
    }
    let mut took: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{stage:<18} median {:>8.2} ms   fastest {:>8.2} ms",
        ms(took[took.len() / 2]),
        ms(took[0])
    );
}

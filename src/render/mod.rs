//! Stage 6: the report model to text. Renderers read only the [`ReportModel`].

mod html;
mod markdown;
mod terminal;

pub(crate) use html::esc;
pub use html::{html, html_marked};
pub use markdown::markdown;
pub use terminal::terminal;

use crate::report::ReportModel;
use rust_decimal::Decimal;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

/// The whole model as JSON, numbers as exact decimal strings.
pub fn json(model: &ReportModel) -> String {
    let mut text =
        serde_json::to_string_pretty(model).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// Writes a report through a temporary file in the same folder and a rename, so a
/// failed write never leaves a truncated report behind and a reader (a browser, the
/// watch's preview) sees the old report or the new one, never half of one. The file
/// is not flushed to disk before the rename: a report can be rendered again from
/// its inputs, and the flush took longer than the rest of a county report's write.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_replacing(path, bytes, false)
}

/// [`write_atomically`], and the new content is on disk before it replaces the old
/// one: for files that exist nowhere else, such as a policy rewritten by `fmt`.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_replacing(path, bytes, true)
}

fn write_replacing(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let tmp = temp_beside(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A temporary file's path in the folder of `path` (`.name.PID.tmp`), so that a
/// rename onto `path` stays on one file system.
pub(crate) fn temp_beside(path: &Path) -> std::path::PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Heading level from the county's numbering: `一、` is a section, `（一）` a subsection.
pub(crate) fn heading_level(text: &str) -> u8 {
    let t = text.trim_start();
    if t.starts_with('（') || t.starts_with('(') {
        3
    } else if t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        4
    } else {
        2
    }
}

/// The exact value of a chart cell, for bar lengths.
/// The largest value a chart shows (zero when it shows none), which its bars are scaled to.
pub(crate) fn chart_max(chart: &crate::report::ChartModel) -> Decimal {
    chart
        .values
        .iter()
        .flatten()
        .filter_map(cell_value)
        .max()
        .unwrap_or(Decimal::ZERO)
}

pub(crate) fn cell_value(cell: &crate::report::Cell) -> Option<Decimal> {
    cell.exact
        .as_deref()
        .and_then(|e| Decimal::from_str(e).ok())
}

/// `value / max * length`, exactly, rounded to two decimals; 0 for empty or non-positive.
pub(crate) fn scaled(value: Option<Decimal>, max: Decimal, length: Decimal) -> Decimal {
    match value {
        Some(v) if v > Decimal::ZERO && max > Decimal::ZERO => (v * length)
            .checked_div(max)
            .unwrap_or(Decimal::ZERO)
            .round_dp(2),
        _ => Decimal::ZERO,
    }
}

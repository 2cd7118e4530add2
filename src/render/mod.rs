//! Stage 6: the report model to text. Renderers read only the [`ReportModel`].

use crate::report::{ReportModel, SectionModel};
use std::io::Write;
use std::path::Path;

/// The report as Markdown.
pub fn markdown(model: &ReportModel) -> String {
    let mut out = String::new();
    out.push_str(&format!("# {}\n\n", escape_md_line(&model.title)));
    out.push_str(&format!("{}\n\n", model.month));
    for section in &model.sections {
        match section {
            SectionModel::Heading { text } => out.push_str(&format!("## {}\n\n", escape_md_line(text))),
            SectionModel::Text { text } => {
                for paragraph in text.split("\n\n") {
                    let p = paragraph.trim();
                    if !p.is_empty() {
                        out.push_str(p);
                        out.push_str("\n\n");
                    }
                }
            }
            SectionModel::Table(table) => {
                out.push_str(&format!("### {}\n\n", escape_md_line(&table.name)));
                for title in &table.titles {
                    out.push_str(&format!("{}\n\n", escape_md_line(title)));
                }
                out.push_str(&format!("| {} |\n", table.headers.iter().map(|h| escape_cell(h)).collect::<Vec<_>>().join(" | ")));
                out.push_str(&format!("|{}\n", " --- |".repeat(table.headers.len())));
                for row in &table.rows {
                    out.push_str(&format!(
                        "| {} |\n",
                        row.iter().map(|c| escape_cell(&c.display)).collect::<Vec<_>>().join(" | ")
                    ));
                }
                if table.rows.is_empty() {
                    out.push_str("\n（无）\n");
                }
                out.push('\n');
            }
        }
    }
    out
}

/// The whole model as JSON, numbers as exact decimal strings.
pub fn json(model: &ReportModel) -> String {
    let mut text = serde_json::to_string_pretty(model).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// Writes a file through a temporary file in the same folder and a rename, so a failed
/// write never leaves a truncated report behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn escape_cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn escape_md_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

//! Markdown: headings, paragraphs, pipe tables; charts as tables of their values.

use super::heading_level;
use crate::report::{ReportModel, SectionModel};

/// The report as Markdown.
pub fn markdown(model: &ReportModel) -> String {
    let mut out = String::new();
    out.push_str(&format!("# {}\n\n", line(&model.title)));
    for section in &model.sections {
        match section {
            SectionModel::Heading { text } => {
                let hashes = "#".repeat(heading_level(text) as usize);
                out.push_str(&format!("{hashes} {}\n\n", line(text)));
            }
            SectionModel::Text { text } => {
                for paragraph in text.split("\n\n") {
                    let p = paragraph.trim();
                    if !p.is_empty() {
                        out.push_str(&escape_text(p));
                        out.push_str("\n\n");
                    }
                }
            }
            SectionModel::Table(table) => {
                out.push_str(&format!("### {}\n\n", line(&table.name)));
                for title in &table.titles {
                    out.push_str(&format!("{}\n\n", line(title)));
                }
                let rows: Vec<Vec<&str>> = table
                    .rows
                    .iter()
                    .map(|r| r.iter().map(|c| c.display.as_str()).collect())
                    .collect();
                pipe_table(&mut out, &table.headers, &rows);
            }
            SectionModel::Chart(chart) => {
                out.push_str(&format!("**图：{}**\n\n", line(&chart.name)));
                for title in &chart.titles {
                    out.push_str(&format!("{}\n\n", line(title)));
                }
                let mut headers = vec![String::new()];
                headers.extend(chart.series.iter().cloned());
                let rows: Vec<Vec<&str>> = chart
                    .categories
                    .iter()
                    .zip(&chart.values)
                    .map(|(c, vs)| {
                        std::iter::once(c.as_str())
                            .chain(vs.iter().map(|v| v.display.as_str()))
                            .collect()
                    })
                    .collect();
                pipe_table(&mut out, &headers, &rows);
            }
        }
    }
    out.push_str(&format!("---\n\n{}\n", line(&model.fingerprint.line())));
    out
}

fn pipe_table(out: &mut String, headers: &[String], rows: &[Vec<&str>]) {
    out.push_str(&format!(
        "| {} |\n",
        headers
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    out.push_str(&format!("|{}\n", " --- |".repeat(headers.len())));
    for row in rows {
        out.push_str(&format!(
            "| {} |\n",
            row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    if rows.is_empty() {
        out.push_str("\n（无）\n");
    }
    out.push('\n');
}

/// A table cell: pipes, backslashes, backticks and line breaks cannot break the table.
fn cell(text: &str) -> String {
    escape_text(text)
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Markdown and HTML that data might carry is shown as text.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn line(text: &str) -> String {
    escape_text(text).replace(['\r', '\n'], " ")
}

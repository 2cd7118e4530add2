//! One self-contained HTML file: A4 print styles, a CJK font stack, tables with repeated
//! headers, inline SVG bar charts. Every value is escaped; nothing is loaded from elsewhere.

use super::{cell_value, heading_level, scaled};
use crate::report::{ChartModel, ReportModel, SectionModel, TableModel};
use rust_decimal::Decimal;
use std::fmt::Write;

const STYLE: &str = r#"
:root { --ink: #1b1b1b; --red: #c00000; --rule: #9a9a9a; --soft: #f4f1ea; }
* { box-sizing: border-box; }
body { margin: 0; background: #e9e6df; color: var(--ink);
  font-family: "Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", "SimSun", "STSong", serif;
  font-size: 16px; line-height: 1.9; }
main { max-width: 210mm; margin: 24px auto; background: #fff; padding: 22mm 20mm 24mm;
  box-shadow: 0 1px 6px rgba(0,0,0,.18); }
header { text-align: center; border-bottom: 3px solid var(--red); padding-bottom: 10px; margin-bottom: 24px; }
header .masthead { color: var(--red); font-size: 30px; font-weight: 700; letter-spacing: 4px; margin: 0; text-indent: 0; text-align: center; }
header .issue { margin: 6px 0 0; font-size: 15px; text-indent: 0; text-align: center; }
h1 { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif;
  text-align: center; font-size: 22px; margin: 28px 0 18px; line-height: 1.5; }
h2 { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "SimHei", sans-serif;
  font-size: 18px; margin: 22px 0 6px; }
h3 { font-family: "KaiTi", "STKaiti", "Noto Serif CJK SC", serif; font-size: 17px; margin: 16px 0 4px; }
h4 { font-size: 16px; margin: 12px 0 4px; }
p { text-indent: 2em; margin: 0 0 8px; text-align: justify; }
section.appendix { margin-top: 28px; }
section.appendix > .label { font-family: "Noto Sans CJK SC", "SimHei", sans-serif; font-weight: 700; margin: 0 0 4px; text-indent: 0; }
.caption { text-align: center; font-weight: 700; margin: 0; text-indent: 0; line-height: 1.6; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 13px; line-height: 1.4; }
thead { display: table-header-group; }
th, td { border: 1px solid var(--rule); padding: 4px 5px; text-align: center; }
th { background: var(--soft); font-weight: 700; }
td:first-child { text-align: left; white-space: nowrap; }
td.num { font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; }
figure { margin: 16px 0; break-inside: avoid; }
figure svg { display: block; max-width: 170mm; margin: 0 auto; }
figcaption { text-align: center; font-size: 14px; font-weight: 700; }
svg text { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; font-size: 12px; fill: var(--ink); }
.legend { font-size: 12px; text-align: center; margin: 0; text-indent: 0; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; vertical-align: middle; }
footer { margin-top: 32px; border-top: 1px solid var(--rule); font-size: 12px; color: #555; text-align: center; padding-top: 6px; }
@page { size: A4; margin: 20mm 18mm; }
@page wide { size: A4 landscape; margin: 15mm 15mm; }
@media print {
  body { background: none; font-size: 12pt; }
  main { margin: 0; padding: 0; max-width: none; box-shadow: none; }
  section.appendix { break-before: page; page: wide; }
  section.appendix table { font-size: 10pt; }
  section.appendix table td, section.appendix table th { padding: 2px 4px; }
  section.appendix figure { margin: 6px 0 0; }
  section.appendix figure svg { max-width: 120mm; }
}
"#;

const COLOURS: &[&str] = &["#b22222", "#4a6fa5", "#d9a441", "#5b8c5a", "#7a5195"];

/// The report as one self-contained HTML page.
pub fn html(model: &ReportModel) -> String {
    html_with(model, false)
}

/// The page with the analyst's commentary marked, as the live preview shows it: each
/// passage tinted, its file and line on hover.
pub fn html_marked(model: &ReportModel) -> String {
    html_with(model, true)
}

fn html_with(model: &ReportModel, marked: bool) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}{}</style>\n</head>\n<body>\n<main>\n",
        esc(&model.title),
        if marked {
            ".commentary { background: #fff6d6; box-shadow: inset 0 -1px 0 #d9b44a; }\n"
        } else {
            ""
        }
    );
    let _ = write!(
        out,
        "<header><p class=\"masthead\">{}</p><p class=\"issue\">{}</p></header>\n<h1>{}</h1>\n",
        esc(&model.policy),
        esc(&model.month),
        esc(&model.title)
    );
    // An appendix table opens a page of its own; the charts right after it share that page.
    let mut open_appendix = false;
    for section in &model.sections {
        let keeps_page = matches!(section, SectionModel::Chart(_));
        if open_appendix && !keeps_page {
            out.push_str("</section>\n");
            open_appendix = false;
        }
        match section {
            SectionModel::Heading { text } => {
                let level = heading_level(text);
                let _ = writeln!(out, "<h{level}>{}</h{level}>", esc(text));
            }
            SectionModel::Text { text } => {
                for paragraph in text.split("\n\n") {
                    let p = paragraph.trim();
                    if !p.is_empty() {
                        let mut html = esc(p);
                        if marked {
                            html = mark_commentary(&html, &model.commentary);
                        }
                        let _ = writeln!(out, "<p>{}</p>", html.replace('\n', "<br>"));
                    }
                }
            }
            SectionModel::Table(table) => open_appendix = table_html(&mut out, table),
            SectionModel::Chart(chart) => chart_svg(&mut out, chart),
        }
    }
    if open_appendix {
        out.push_str("</section>\n");
    }
    let _ = write!(
        out,
        "<footer>{} · {}<br>{}</footer>\n</main>\n</body>\n</html>\n",
        esc(&model.policy),
        esc(&model.month),
        esc(&model.fingerprint.line())
    );
    out
}

/// Wraps each passage of commentary in `html` (escaped text) in a tinted span that names
/// its source; a passage of several paragraphs is marked paragraph by paragraph.
fn mark_commentary(html: &str, passages: &[crate::report::Passage]) -> String {
    let mut out = html.to_string();
    for passage in passages {
        for piece in passage.text.split("\n\n") {
            let piece = esc(piece.trim());
            if piece.is_empty() || !out.contains(&piece) {
                continue;
            }
            let span = format!(
                "<span class=\"commentary\" title=\"分析：{}\">{piece}</span>",
                esc(&passage.source)
            );
            out = out.replacen(&piece, &span, 1);
        }
    }
    out
}

/// Writes a table; an appendix table's section is left open (returns true) for its charts.
fn table_html(out: &mut String, table: &TableModel) -> bool {
    let appendix = table.name.starts_with("附表");
    let _ = writeln!(
        out,
        "<section class=\"{}\">",
        if appendix { "appendix" } else { "table" }
    );
    let _ = writeln!(out, "<p class=\"label\">{}：</p>", esc(&table.name));
    for title in &table.titles {
        let _ = writeln!(out, "<p class=\"caption\">{}</p>", esc(title));
    }
    out.push_str("<table>\n<thead><tr>");
    for h in &table.headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            let class = if cell.exact.is_some() {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", esc(&cell.display));
        }
        out.push_str("</tr>\n");
    }
    if table.rows.is_empty() {
        let _ = writeln!(
            out,
            "<tr><td colspan=\"{}\">（无）</td></tr>",
            table.headers.len().max(1)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if appendix {
        true
    } else {
        out.push_str("</section>\n");
        false
    }
}

/// Horizontal grouped bars; lengths computed exactly from the exact values.
fn chart_svg(out: &mut String, chart: &ChartModel) {
    let label_width = chart
        .categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(2)
        .min(14)
        * 13
        + 12;
    let bar_height = 14usize;
    let group_height = bar_height * chart.series.len().max(1) + 8;
    let plot = Decimal::from(420);
    let width = label_width + 420 + 70;
    let height = group_height * chart.categories.len().max(1) + 10;
    let max = super::chart_max(chart);
    let _ = writeln!(out, "<figure>");
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        esc(&chart.name)
    );
    for (i, (category, values)) in chart.categories.iter().zip(&chart.values).enumerate() {
        let top = i * group_height + 5;
        let middle = top + group_height / 2;
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
            label_width - 6,
            middle,
            esc(category)
        );
        for (j, cell) in values.iter().enumerate() {
            let y = top + j * bar_height + 2;
            let length = scaled(cell_value(cell), max, plot);
            let colour = COLOURS.get(j % COLOURS.len()).copied().unwrap_or("#888");
            let _ = writeln!(
                out,
                "<rect x=\"{label_width}\" y=\"{y}\" width=\"{length}\" height=\"{}\" fill=\"{colour}\"><title>{}：{}</title></rect>",
                bar_height - 3,
                esc(chart.series.get(j).map(String::as_str).unwrap_or("")),
                esc(&cell.display)
            );
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" dominant-baseline=\"middle\">{}</text>",
                Decimal::from(label_width as u64) + length + Decimal::from(4),
                y + (bar_height - 3) / 2,
                esc(&cell.display)
            );
        }
    }
    out.push_str("</svg>\n");
    if chart.series.len() > 1 {
        out.push_str("<p class=\"legend\">");
        for (j, s) in chart.series.iter().enumerate() {
            let colour = COLOURS.get(j % COLOURS.len()).copied().unwrap_or("#888");
            let _ = write!(out, "<span style=\"background:{colour}\"></span>{}", esc(s));
        }
        out.push_str("</p>\n");
    }
    let _ = writeln!(out, "<figcaption>图：{}</figcaption>", esc(&chart.name));
    for title in &chart.titles {
        let _ = writeln!(out, "<p class=\"caption\">{}</p>", esc(title));
    }
    out.push_str("</figure>\n");
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

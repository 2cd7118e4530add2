//! The terminal: prose as text, tables with comfy-table (CJK width aware, fitted to the
//! terminal's width), charts as bars of block characters.

use super::{cell_value, heading_level, scaled};
use crate::report::{ReportModel, SectionModel};
use comfy_table::{
    presets::UTF8_FULL_CONDENSED, CellAlignment, ColumnConstraint, ContentArrangement, Table,
};
use rust_decimal::Decimal;

/// The report for a terminal: `width` columns wide, or as wide as the terminal comfy-table
/// finds when `None`.
pub fn terminal(model: &ReportModel, width: Option<u16>) -> String {
    // Prose is wrapped to the width (comfy-table knows the terminal's), 100 columns when
    // neither is known.
    let prose_width = width
        .or_else(|| Table::new().width())
        .map_or(100, usize::from)
        .max(20);
    let mut out = String::new();
    out.push_str(&format!("{}\n\n", model.title));
    for section in &model.sections {
        match section {
            SectionModel::Heading { text } => {
                let mark = if heading_level(text) <= 2 {
                    "■"
                } else {
                    "□"
                };
                out.push_str(&format!("{mark} {text}\n\n"));
            }
            SectionModel::Text { text } => {
                for paragraph in text.split("\n\n") {
                    let p = paragraph.trim();
                    if !p.is_empty() {
                        for line in wrap(&format!("  {p}"), prose_width) {
                            out.push_str(&line);
                            out.push('\n');
                        }
                        out.push('\n');
                    }
                }
            }
            SectionModel::Table(table) => {
                out.push_str(&format!("{}\n", table.name));
                for title in &table.titles {
                    out.push_str(&format!("{title}\n"));
                }
                let mut t = Table::new();
                t.load_style(UTF8_FULL_CONDENSED)
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_header(table.headers.clone());
                if let Some(width) = width {
                    t.force_no_tty().set_width(width);
                }
                if let Some(first) = t.column_mut(0) {
                    first.set_constraint(ColumnConstraint::ContentWidth);
                }
                // A number is never split across lines: its column is at least as wide as
                // its widest value; the header wraps instead.
                for index in 1..table.headers.len() {
                    let widest = table
                        .rows
                        .iter()
                        .filter_map(|r| r.get(index))
                        .filter(|c| c.exact.is_some())
                        .map(|c| unicode_width::UnicodeWidthStr::width(c.display.as_str()))
                        .max();
                    if let (Some(widest), Some(column)) = (widest, t.column_mut(index)) {
                        // and never narrower than one Chinese character of its header.
                        // (The boundary counts the padding on both sides.)
                        let at_least = u16::try_from(widest.max(2) + 2).unwrap_or(u16::MAX);
                        column.set_constraint(ColumnConstraint::LowerBoundary(
                            comfy_table::Width::Fixed(at_least),
                        ));
                    }
                }
                for row in &table.rows {
                    t.add_row(row.iter().map(|c| {
                        let cell = comfy_table::Cell::new(&c.display);
                        if c.exact.is_some() {
                            cell.set_alignment(CellAlignment::Right)
                        } else {
                            cell
                        }
                    }));
                }
                let drawn = t.to_string();
                let widest = drawn
                    .lines()
                    .map(unicode_width::UnicodeWidthStr::width)
                    .max()
                    .unwrap_or(0);
                if widest <= prose_width || table.rows.is_empty() {
                    out.push_str(&format!("{drawn}\n\n"));
                } else {
                    // Too wide for the terminal even with every number whole: a block per
                    // row, its values named by their headers.
                    out.push_str(&records(table, prose_width));
                }
            }
            SectionModel::Chart(chart) => {
                out.push_str(&format!("图：{}\n", chart.name));
                let max = super::chart_max(chart);
                let label = chart
                    .categories
                    .iter()
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0);
                // The longest bar fits the width beside the label, value and series name.
                let tail = chart
                    .values
                    .iter()
                    .flat_map(|v| v.iter().enumerate())
                    .map(|(j, c)| {
                        let series = chart.series.get(j).map_or("", String::as_str);
                        unicode_width::UnicodeWidthStr::width(c.display.as_str())
                            + unicode_width::UnicodeWidthStr::width(series)
                    })
                    .max()
                    .unwrap_or(0);
                let room = prose_width
                    .saturating_sub(label * 2 + tail + 6)
                    .clamp(10, 40);
                for (category, values) in chart.categories.iter().zip(&chart.values) {
                    for (j, cell) in values.iter().enumerate() {
                        let bars = scaled(cell_value(cell), max, Decimal::from(room)).round();
                        let n = usize::try_from(bars.mantissa()).unwrap_or(0);
                        let name = if j == 0 { category.as_str() } else { "" };
                        let pad = " ".repeat((label - name.chars().count()) * 2);
                        let series = chart.series.get(j).map(String::as_str).unwrap_or("");
                        out.push_str(&format!(
                            "  {name}{pad} {} {} {series}\n",
                            "█".repeat(n),
                            cell.display
                        ));
                    }
                }
                out.push('\n');
            }
        }
    }
    out
}

/// A table as one block per row: the first cell, then `header value` pairs wrapped to
/// `width`, for a terminal too narrow for the table.
fn records(table: &crate::report::TableModel, width: usize) -> String {
    let mut out = String::new();
    for row in &table.rows {
        let mut cells = row.iter().zip(&table.headers);
        let Some((first, _)) = cells.next() else {
            continue;
        };
        out.push_str(&format!("  {}\n", first.display));
        let pairs: Vec<String> = cells
            .map(|(cell, header)| format!("{header} {}", cell.display))
            .collect();
        for line in wrap(&format!("    {}", pairs.join(" · ")), width) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out.push('\n');
    out
}

/// Lines of at most `width` columns (a Chinese character takes two). A number, with its
/// point, sign, `%` and grouping, and a word of Latin letters stay whole; a line does not
/// start with closing punctuation (，。、；：！？）》」”).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let full = width.max(2);
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut line: Vec<String> = Vec::new();
    let used = |line: &[String]| line.iter().map(|u| u.width()).sum::<usize>();
    for unit in units(text) {
        let w = unit.width();
        if used(&line) + w <= full || line.iter().all(|u| u.trim().is_empty()) {
            line.push(unit);
            continue;
        }
        // The unit does not fit: it starts the next line, which must not start with
        // closing punctuation, so closing marks take the unit before them along.
        let mut carried = vec![unit];
        while carried.first().is_some_and(|u| closes(u)) {
            match line.pop() {
                Some(before) => carried.insert(0, before),
                None => break,
            }
        }
        if line.iter().all(|u| u.trim().is_empty()) {
            // One unbreakable run longer than the line: it stays whole.
            line.extend(carried);
            continue;
        }
        lines.push(std::mem::take(&mut line));
        line = carried
            .into_iter()
            .skip_while(|u| u.trim().is_empty())
            .collect();
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .into_iter()
        .map(|l| l.concat().trim_end().to_string())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// The pieces a line may break between: a run of digits, Latin letters and the marks
/// of a number, or one other character.
fn units(text: &str) -> Vec<String> {
    let joins = |c: char| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '%' | ',' | '-' | '+' | '_' | '/' | ':')
    };
    let mut out: Vec<String> = Vec::new();
    let mut run = String::new();
    for c in text.chars() {
        if joins(c) {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
        out.push(c.to_string());
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// Punctuation that closes what comes before it, which no line starts with.
fn closes(unit: &str) -> bool {
    matches!(
        unit,
        "，" | "。"
            | "、"
            | "；"
            | "："
            | "！"
            | "？"
            | "）"
            | "》"
            | "」"
            | "”"
            | "’"
            | "%"
            | "％"
    )
}

#[cfg(test)]
mod tests {
    use super::wrap;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn prose_wraps_by_display_width_without_splitting_numbers() {
        let text = "  3 月份，东阿县市民热线服务中心共收到省、市平台承办单 4727 件，响应率 99.93%，按时办理率 87.17%，解决率 99.45%，综合满意率 99.67%。";
        for width in [20, 24, 33, 40, 80] {
            let lines = wrap(text, width);
            assert_eq!(
                lines.concat().replace(' ', ""),
                text.replace(' ', ""),
                "{width}"
            );
            for line in &lines {
                assert!(line.width() <= width, "{width}: {line:?}");
                assert!(
                    !line.starts_with('，') && !line.starts_with('。'),
                    "{line:?}"
                );
            }
            for number in ["4727", "99.93%", "87.17%", "99.45%", "99.67%"] {
                assert!(
                    lines.iter().any(|l| l.contains(number)),
                    "{width}: {number} split: {lines:#?}"
                );
            }
        }
    }
}

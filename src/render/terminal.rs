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
                        out.push_str(&format!("  {p}\n\n"));
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
                out.push_str(&format!("{t}\n\n"));
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
                for (category, values) in chart.categories.iter().zip(&chart.values) {
                    for (j, cell) in values.iter().enumerate() {
                        let bars = scaled(cell_value(cell), max, Decimal::from(40)).round();
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

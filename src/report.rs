//! The evaluated report: the only input of the renderers. Numbers are exact decimal strings.

use crate::ast::FingerprintKind;
use serde::Serialize;

/// Everything a renderer needs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReportModel {
    /// The policy's title.
    pub policy: String,
    /// The report's title.
    pub title: String,
    /// `2023-03`.
    pub month: String,
    /// Rounding rule.
    pub rounding: crate::ast::Rounding,
    /// Decimals shown.
    pub decimals: u32,
    /// The sections in order.
    pub sections: Vec<SectionModel>,
    /// Every metric, score, band and ranking with every value.
    pub values: Vec<Definition>,
    /// Each source's file and row count.
    pub sources: Vec<SourceSummary>,
    /// What the report was made from: short SHA-256 hashes of the policy and of each data
    /// file, and the hotline version, printed in the footer.
    pub fingerprint: Fingerprint,
    /// Each list's items in order: `热点问题` → the month's hot topics.
    pub lists: Vec<(String, Vec<String>)>,
    /// The passages of the report that are an analyst's commentary, not computed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commentary: Vec<Passage>,
    /// What the reader should know: a month of the period without data, a month a
    /// comparison needs and does not have.
    #[serde(serialize_with = "messages")]
    pub warnings: Vec<crate::eval::EvalError>,
}

/// A passage of the report written by an analyst: its text as shown and where it is from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Passage {
    /// The rendered text.
    pub text: String,
    /// `commentary.md` and the line of its entry.
    pub source: String,
}

/// Warnings as their messages.
fn messages<S: serde::Serializer>(
    warnings: &[crate::eval::EvalError],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(warnings.iter().map(|w| w.to_string()))
}

/// The inputs of a report, by content.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Fingerprint {
    /// The hash of the digests (the policy's `fingerprint`): `sha256`,
    /// `blake3`, or `none` (no digests).
    pub hash: FingerprintKind,
    /// The first 12 hex digits of the policy text's digest (empty for `none`).
    pub policy: String,
    /// Each data file's name and the first 12 hex digits of its digest (none
    /// for `none`).
    pub data: Vec<(String, String)>,
    /// The hotline version.
    pub hotline: String,
}

impl Fingerprint {
    /// One line: `策略 3f2a… · tickets.csv 9be1… · hotline 0.1.0` (SHA-256);
    /// `… · BLAKE3 · hotline 0.1.0` for BLAKE3 digests; `hotline 0.1.0` alone
    /// for `fingerprint none`.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if self.hash != FingerprintKind::None {
            parts.push(format!("策略 {}", self.policy));
            parts.extend(
                self.data
                    .iter()
                    .map(|(file, hash)| format!("{file} {hash}")),
            );
        }
        if self.hash == FingerprintKind::Blake3 {
            parts.push("BLAKE3".to_string());
        }
        parts.push(format!("hotline {}", self.hotline));
        parts.join(" · ")
    }
}

/// A source as loaded.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceSummary {
    /// The source's name.
    pub name: String,
    /// The file read.
    pub file: String,
    /// Rows read.
    pub rows: usize,
    /// Encoding used, and whether detected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// One section of the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SectionModel {
    /// A heading.
    Heading {
        /// Its text.
        text: String,
    },
    /// Prose with computed values filled in.
    Text {
        /// The rendered text.
        text: String,
    },
    /// A table.
    Table(TableModel),
    /// A bar chart.
    Chart(ChartModel),
}

/// A bar chart: one group of bars per category, one bar per series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChartModel {
    /// The chart's name.
    pub name: String,
    /// Title lines.
    pub titles: Vec<String>,
    /// Category labels (units, topics), in order.
    pub categories: Vec<String>,
    /// Series names.
    pub series: Vec<String>,
    /// `values[category][series]`.
    pub values: Vec<Vec<Cell>>,
}

/// A rendered table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableModel {
    /// `附表 1`.
    pub name: String,
    /// Title lines.
    pub titles: Vec<String>,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells; with a total, its row is the last.
    pub rows: Vec<Vec<Cell>>,
    /// Whether the last row is the `total "合计"` row, of sums, not of a key.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub total: bool,
}

/// One cell: what is shown, and the exact value behind it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cell {
    /// As displayed (rounded by the policy's rule).
    pub display: String,
    /// The exact value, for numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
}

/// A definition and its values.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Definition {
    /// The name.
    pub name: String,
    /// `metric`, `score`, `score term`, `bands`, `ranking`.
    pub kind: &'static str,
    /// `unit`, a field name, or absent for a single value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// The single value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Values per key, in key order (units in registry order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<(String, Option<String>)>,
    /// How each value was computed (`92 / 97 rows …`), per key (empty key: the single value),
    /// when the evaluation was asked to explain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explain: Vec<(String, String)>,
}

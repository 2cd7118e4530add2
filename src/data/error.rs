//! Errors of the data-loading stage.

use std::fmt;
use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

/// How many bad cells a [`LoadError::BadCells`] keeps for display.
pub const MAX_KEPT_CELL_ERRORS: usize = 20;

/// An error while loading a source file.
#[derive(Debug, Error, Diagnostic)]
pub enum LoadError {
    /// The file cannot be opened or read.
    ///
    /// Example: the policy names `tickets.csv` but there is no such file.
    #[error("cannot read `{}`", .path.display())]
    #[diagnostic(
        code(hotline::data::io),
        help("check that the path in the policy is right and that the file is readable")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Declared columns are not in the file's header.
    ///
    /// Example: the policy declares the header `承办部门` but the file's
    /// header row has `承办单位`.
    #[error(
        "`{}` has no column{} {}",
        .path.display(),
        if .missing.len() == 1 { "" } else { "s" },
        backticked(.missing, usize::MAX)
    )]
    #[diagnostic(
        code(hotline::data::missing_columns),
        help("{}", missing_columns_help(missing, found, hint))
    )]
    MissingColumns {
        path: PathBuf,
        /// The declared headers that are not in the file.
        missing: Vec<String>,
        /// The headers the file has.
        found: Vec<String>,
        /// An extra hint (e.g. about a wrong encoding declaration).
        hint: Option<String>,
    },

    /// A declared column's header occurs more than once in the file, so it
    /// is ambiguous which one is meant.
    ///
    /// Example: the header row `工单编号,承办单位,承办单位` when the policy
    /// declares `承办单位`.
    #[error(
        "`{}` has the column `{header}` more than once (again at line {line}, column {column}), so it is ambiguous which one is meant",
        .path.display()
    )]
    #[diagnostic(
        code(hotline::data::duplicate_header),
        help("rename or remove one of the `{header}` columns in the file")
    )]
    DuplicateHeader {
        path: PathBuf,
        header: String,
        /// Line (CSV, JSONL) or sheet row (XLSX) of the duplicate.
        line: u64,
        /// 1-based position of the second occurrence.
        column: u64,
    },

    /// The file has no header row at all.
    ///
    /// Example: a 0-byte `spot-checks.csv`, or a workbook sheet with no cells.
    #[error("`{}` is empty: it has no header row", .path.display())]
    #[diagnostic(
        code(hotline::data::empty),
        help("a file without data rows still needs its header row")
    )]
    Empty { path: PathBuf },

    /// The workbook has no sheet of the declared name.
    ///
    /// Example: the policy declares sheet `质效考核` but the workbook's only
    /// sheet is `Sheet1`.
    #[error("`{}` has no sheet `{sheet}`", .path.display())]
    #[diagnostic(
        code(hotline::data::missing_sheet),
        help("{}", missing_sheet_help(sheet, sheets))
    )]
    MissingSheet {
        path: PathBuf,
        sheet: String,
        sheets: Vec<String>,
    },

    /// The spreadsheet is damaged or not an XLSX workbook.
    ///
    /// Example: a CSV file renamed to `deductions.xlsx`.
    #[error("cannot read the workbook `{}`: {message}", .path.display())]
    #[diagnostic(
        code(hotline::data::xlsx),
        help("check that the file is an .xlsx workbook (not .xls, or a renamed .csv) and is not damaged; re-save it from the spreadsheet program")
    )]
    Xlsx { path: PathBuf, message: String },

    /// The sheet is too large to load.
    ///
    /// Example: a sheet with 11 million used cells.
    #[error(
        "sheet `{sheet}` of `{}` has more than {limit} cells, which is too many to load",
        .path.display()
    )]
    #[diagnostic(
        code(hotline::data::sheet_too_large),
        help("export the sheet as CSV, or delete unused rows and columns")
    )]
    SheetTooLarge {
        path: PathBuf,
        sheet: String,
        limit: u64,
    },

    /// The file's structure is broken: a CSV row with the wrong number of
    /// fields, a quoted field that is never closed, bytes that are not valid
    /// in the file's encoding, or a JSONL line that is not a JSON object.
    ///
    /// Example: line 12 of a CSV whose header has 18 fields has only 17.
    /// The message names the line, e.g. "line 12 has 17 fields, the header
    /// has 18".
    #[error("`{}`: {message}", .path.display())]
    #[diagnostic(code(hotline::data::malformed))]
    Malformed {
        path: PathBuf,
        line: u64,
        message: String,
        #[help]
        hint: Option<String>,
    },

    /// Values that do not fit their declared column types. All bad cells of
    /// the file are counted; the first [`MAX_KEPT_CELL_ERRORS`] are kept.
    ///
    /// Example: `2023-13-01 08:00:00` in a column declared as a date-time.
    #[error(
        "`{}`: {total} value{} do{} not fit {} declared type{}",
        .path.display(),
        if *.total == 1 { "" } else { "s" },
        if *.total == 1 { "es" } else { "" },
        if *.total == 1 { "its" } else { "their" },
        if *.total == 1 { "" } else { "s" }
    )]
    #[diagnostic(code(hotline::data::bad_cells), help("{}", bad_cells_help(errors, *total)))]
    BadCells {
        path: PathBuf,
        #[related]
        errors: Vec<CellError>,
        total: usize,
    },
}

impl LoadError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::MissingColumns { path, .. }
            | LoadError::DuplicateHeader { path, .. }
            | LoadError::Empty { path }
            | LoadError::MissingSheet { path, .. }
            | LoadError::Xlsx { path, .. }
            | LoadError::SheetTooLarge { path, .. }
            | LoadError::Malformed { path, .. }
            | LoadError::BadCells { path, .. } => path,
        }
    }
}

/// One value that does not fit its declared type.
///
/// Example display: ``line 12, column 11 (`派单时间`): `2023-13-01` is not a
/// date-time of the form `%Y-%m-%d %H:%M:%S` like `2023-03-01 08:00:00` ``.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
#[diagnostic(code(hotline::data::bad_cell))]
pub struct CellError {
    /// 1-based line (CSV: where the record starts; JSONL: the line) or
    /// sheet row number (XLSX).
    pub line: u64,
    /// 1-based field index in the file (CSV: field of the record; XLSX: sheet
    /// column, A = 1; JSONL: index of the column declaration).
    pub column: u64,
    /// The header (CSV/XLSX) or key (JSONL) of the column.
    pub header: String,
    /// The offending value as text (long values are shortened); empty for
    /// an empty cell.
    pub value: String,
    /// What was expected, e.g. "one of `已解决`, `基本解决`, `未解决`".
    pub expected: String,
    /// The cell reference for spreadsheets, e.g. `C12`.
    pub cell: Option<String>,
    /// A suggestion, e.g. "did you mean `新城街道`?".
    #[help]
    pub help: Option<String>,
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cell {
            Some(cell) => write!(f, "cell {cell}")?,
            None => write!(f, "line {}, column {}", self.line, self.column)?,
        }
        write!(f, " (`{}`): ", self.header)?;
        if self.value.trim().is_empty() {
            write!(f, "the cell is empty; expected {}", self.expected)
        } else {
            write!(f, "`{}` is not {}", self.value, self.expected)
        }
    }
}

/// `` `a`, `b`, `c` `` (at most `max` items, then "and N more").
pub(crate) fn backticked<S: AsRef<str>>(items: &[S], max: usize) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().take(max).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('`');
        out.push_str(item.as_ref());
        out.push('`');
    }
    if items.len() > max {
        out.push_str(&format!(" and {} more", items.len() - max));
    }
    out
}

/// The known name closest to `wanted`, if any is close enough to suggest.
pub(crate) fn closest<'a, I>(wanted: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return None;
    }
    let wanted_len = wanted.chars().count();
    let mut best: Option<(f64, &str)> = None;
    for cand in candidates {
        if cand == wanted || cand.trim().is_empty() {
            continue;
        }
        let cand_len = cand.chars().count();
        let longest = wanted_len.max(cand_len).max(1);
        let shortest = wanted_len.min(cand_len);
        let similarity = 1.0 - strsim::levenshtein(wanted, cand) as f64 / longest as f64;
        let prefix = wanted
            .chars()
            .zip(cand.chars())
            .take_while(|(a, b)| a == b)
            .count();
        let contains = cand.contains(wanted) || wanted.contains(cand);
        let same_letters = cand.to_lowercase() == wanted.to_lowercase();
        if same_letters {
            // Differs only in letter case: the best possible suggestion.
            return Some(cand.to_string());
        }
        let ok = similarity >= 0.5 || contains || (prefix >= 2 && prefix * 2 >= shortest);
        if !ok {
            continue;
        }
        let score = similarity + 0.1 * prefix as f64 + if contains { 0.5 } else { 0.0 };
        match best {
            Some((s, _)) if s >= score => {}
            _ => best = Some((score, cand)),
        }
    }
    best.map(|(_, c)| c.to_string())
}

fn missing_columns_help(missing: &[String], found: &[String], hint: &Option<String>) -> String {
    let mut out = String::new();
    if found.is_empty() {
        out.push_str("the file has no named columns");
    } else {
        out.push_str("the columns found are ");
        out.push_str(&backticked(found, 40));
    }
    let found_refs = || found.iter().map(String::as_str);
    let suggestions: Vec<(String, String)> = missing
        .iter()
        .filter_map(|m| closest(m, found_refs()).map(|s| (m.clone(), s)))
        .collect();
    if missing.len() == 1 {
        if let Some((_, s)) = suggestions.first() {
            out.push_str(&format!("; did you mean `{s}`?"));
        }
    } else {
        for (m, s) in &suggestions {
            out.push_str(&format!("; for `{m}`, did you mean `{s}`?"));
        }
    }
    if let Some(hint) = hint {
        out.push_str("; ");
        out.push_str(hint);
    }
    out
}

fn missing_sheet_help(sheet: &str, sheets: &[String]) -> String {
    if sheets.is_empty() {
        return "the workbook has no sheets".to_string();
    }
    let mut out = format!("the workbook has the sheets {}", backticked(sheets, 40));
    if let Some(s) = closest(sheet, sheets.iter().map(String::as_str)) {
        out.push_str(&format!("; did you mean `{s}`?"));
    }
    out
}

fn bad_cells_help(errors: &[CellError], total: usize) -> String {
    let mut out = String::new();
    if total > errors.len() {
        out.push_str(&format!(
            "the first {} of {total} are listed; ",
            errors.len()
        ));
    }
    out.push_str("fix the values in the file, or the column declarations in the policy");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_suggests_similar_chinese_names() {
        let names = ["单位", "扣分事项", "扣分", "承办单位"];
        assert_eq!(
            closest("承办部门", names.iter().copied()).as_deref(),
            Some("承办单位")
        );
        assert_eq!(
            closest("扣分值", names.iter().copied()).as_deref(),
            Some("扣分")
        );
        assert_eq!(closest("满意度评分", names.iter().copied()), None);
        let units = ["新城街道", "铜城街道", "县住建局"];
        assert_eq!(
            closest("新城办事处", units.iter().copied()).as_deref(),
            Some("新城街道")
        );
        assert_eq!(
            closest("住建局", units.iter().copied()).as_deref(),
            Some("县住建局")
        );
    }

    #[test]
    fn backticked_caps_the_list() {
        assert_eq!(backticked(&["a", "b", "c"], 2), "`a`, `b` and 1 more");
        assert_eq!(backticked(&["a"], 2), "`a`");
    }

    #[test]
    fn cell_error_display() {
        let e = CellError {
            line: 12,
            column: 11,
            header: "派单时间".into(),
            value: "2023-13-01".into(),
            expected: "a date-time of the form `%Y-%m-%d %H:%M:%S`".into(),
            cell: None,
            help: None,
        };
        assert_eq!(
            e.to_string(),
            "line 12, column 11 (`派单时间`): `2023-13-01` is not a date-time of the form `%Y-%m-%d %H:%M:%S`"
        );
    }
}

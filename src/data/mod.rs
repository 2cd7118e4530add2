//! The data-loading stage: reads a source file (CSV, XLSX, JSON Lines) into
//! typed columns, as declared by the policy's column specs.
//!
//! Every value that does not fit its declared type is reported (all are
//! counted, the first [`MAX_KEPT_CELL_ERRORS`] are kept), rows are never
//! dropped, and structural problems (ragged CSV rows, unclosed quotes, bad
//! encodings, missing columns or sheets) are errors with line numbers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::ast::FingerprintKind;

pub mod commentary;
pub(crate) mod csv;
pub(crate) mod digest;
mod error;
mod gbk;
mod jsonl;
mod marks;
pub(crate) mod spare;
mod value;
mod xlsx;

pub use csv::BLOCK_BYTES;
pub use error::{CellError, LoadError, MAX_KEPT_CELL_ERRORS};
pub use value::validate_datetime_format;
pub(crate) use value::CellErrors;
pub use xlsx::MAX_XLSX_CELLS;

/// How a source file is read.
#[derive(Debug, Clone, PartialEq)]
pub enum FileFormat {
    /// CSV with a header row. `encoding: None` = detect: UTF-8 (with or
    /// without BOM; BOM stripped) when the bytes are valid UTF-8, else
    /// GB18030/GBK. The encoding used is reported in [`Table::encoding`].
    Csv { encoding: Option<Encoding> },
    /// XLSX, a named sheet; the first row with a value is the header.
    Xlsx { sheet: String },
    /// JSON Lines: one JSON object per line; the "header" is the object key.
    /// Empty lines are skipped (they are not rows).
    Jsonl,
}

/// A text encoding of CSV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// GB18030, which also decodes GBK and GB2312.
    Gbk,
}

/// The declared type of a column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnType {
    Text,
    Integer,
    /// Exact decimal, parsed from the text (never via binary floating point).
    Decimal,
    /// A percentage given in points: "87.5" or "87.5%" both mean 87.5. A
    /// spreadsheet number formatted as a percentage (stored as 0.875) also
    /// means 87.5.
    Percent,
    /// Declared spellings, matched exactly after trimming whitespace.
    Bool {
        true_spellings: Vec<String>,
        false_spellings: Vec<String>,
    },
    /// A chrono strftime format, e.g. `%Y-%m-%d %H:%M:%S`; date-only formats
    /// mean midnight. Stored as seconds since 1970-01-01T00:00:00 of the
    /// naive (local) date-time.
    DateTime {
        format: String,
    },
    /// One of the declared labels; stored as the index into `labels`.
    Enum {
        labels: Vec<String>,
    },
    /// A handling-unit name, resolved through a [`UnitResolver`].
    Unit,
}

/// One declared column of a source.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// Field name in the policy (used for messages only).
    pub name: String,
    /// Header text in the file (CSV/XLSX header cell; JSONL key).
    pub header: String,
    pub ty: ColumnType,
    /// Whether an empty cell (after trimming) is allowed, giving `None`.
    pub nullable: bool,
}

/// Resolves unit names (and aliases) to indices in the policy's unit registry.
pub trait UnitResolver {
    fn resolve(&self, name: &str) -> Option<u32>;
    /// Known names, for "did you mean" suggestions in errors.
    fn names(&self) -> Vec<String>;
}

/// A registry with no units, for tests of columns that hold none.
#[cfg(test)]
pub(crate) struct NoUnits;

#[cfg(test)]
impl UnitResolver for NoUnits {
    fn resolve(&self, _: &str) -> Option<u32> {
        None
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A column of typed values, one per row. `None` = empty cell.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Text(Vec<Option<Arc<str>>>),
    Integer(Vec<Option<i64>>),
    /// Used for both `Decimal` and `Percent` columns.
    Decimal(Vec<Option<Decimal>>),
    Bool(Vec<Option<bool>>),
    DateTime(Vec<Option<i64>>),
    Enum(Vec<Option<u32>>),
    Unit(Vec<Option<u32>>),
}

/// A loaded source: columns in the order of the specs given.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub path: PathBuf,
    pub columns: Vec<ColumnData>,
    /// 1-based physical line of each row (CSV: line where the record
    /// starts, counting embedded newlines; XLSX: sheet row number; JSONL:
    /// line), for later error messages.
    pub lines: Vec<u64>,
    /// The encoding used (CSV only), and whether it was detected rather
    /// than declared.
    pub encoding: Option<(Encoding, bool)>,
    /// The first 12 hex digits of the file's digest, for the report's footer
    /// (`None` for `fingerprint none`, and for test data, which has no file).
    pub hash: Option<String>,
    /// No file at all: a month a comparison needs and does not have. Its values are
    /// empty ("no data"), not those of a file without rows.
    pub absent: bool,
}

impl Table {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when the source has no data rows.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// A table of the columns `specs` without rows: a source none of whose months
    /// has a file.
    pub fn empty(path: PathBuf, specs: &[ColumnSpec]) -> Table {
        Table {
            path,
            columns: specs
                .iter()
                .map(|s| match s.ty {
                    ColumnType::Text => ColumnData::Text(Vec::new()),
                    ColumnType::Integer => ColumnData::Integer(Vec::new()),
                    ColumnType::Decimal | ColumnType::Percent => ColumnData::Decimal(Vec::new()),
                    ColumnType::Bool { .. } => ColumnData::Bool(Vec::new()),
                    ColumnType::DateTime { .. } => ColumnData::DateTime(Vec::new()),
                    ColumnType::Enum { .. } => ColumnData::Enum(Vec::new()),
                    ColumnType::Unit => ColumnData::Unit(Vec::new()),
                })
                .collect(),
            lines: Vec::new(),
            encoding: None,
            hash: None,
            absent: true,
        }
    }

    /// Appends the rows of `other`, a table of the same columns (the next month's).
    pub fn extend(&mut self, other: Table) {
        self.append(other.columns, other.lines);
    }

    /// Appends rows given as columns of the same types.
    pub(crate) fn append(&mut self, columns: Vec<ColumnData>, lines: Vec<u64>) {
        for (mine, more) in self.columns.iter_mut().zip(columns) {
            mine.append(more);
        }
        self.lines.extend(lines);
    }
}

/// Loads the columns `specs` of the file at `path`, and takes its SHA-256.
///
/// Only the declared columns are typed; other columns are ignored (but CSV
/// rows must still have as many fields as the header).
pub fn load_table(
    path: &Path,
    format: &FileFormat,
    specs: &[ColumnSpec],
    units: &dyn UnitResolver,
) -> Result<Table, LoadError> {
    load_table_with_fingerprint(path, format, specs, units, FingerprintKind::Sha256)
}

/// [`load_table`] of a CSV file read in blocks of `block_bytes` (the first
/// too when the encoding is declared), as a big file is: the same table, or
/// an error too. For tests and fuzzing, which have no big files.
#[doc(hidden)]
pub fn load_csv_in_blocks(
    path: &Path,
    encoding: Option<Encoding>,
    specs: &[ColumnSpec],
    units: &dyn UnitResolver,
    block_bytes: usize,
) -> Result<Table, LoadError> {
    csv::load(
        path,
        encoding,
        specs,
        units,
        FingerprintKind::Sha256,
        block_bytes,
    )
}

/// [`load_table`], the file's digest taken in `fingerprint`'s hash (none for
/// `fingerprint none`).
pub fn load_table_with_fingerprint(
    path: &Path,
    format: &FileFormat,
    specs: &[ColumnSpec],
    units: &dyn UnitResolver,
    fingerprint: FingerprintKind,
) -> Result<Table, LoadError> {
    let mut table = match format {
        FileFormat::Csv { encoding } => {
            csv::load(path, *encoding, specs, units, fingerprint, BLOCK_BYTES)
        }
        FileFormat::Xlsx { sheet } => xlsx::load(path, sheet, specs, units),
        FileFormat::Jsonl => jsonl::load(path, specs, units),
    }?;
    // Hashed once here, so evaluating the same tables again (watch) costs no hashing;
    // the CSV reader hashes as it reads.
    if table.hash.is_none() && fingerprint != FingerprintKind::None {
        table.hash = std::fs::read(path)
            .ok()
            .and_then(|bytes| digest::short_digest(fingerprint, &bytes));
    }
    Ok(table)
}

/// Turns the collected bad cells into the result.
fn finish(
    path: &Path,
    columns: Vec<value::Column<'_>>,
    lines: Vec<u64>,
    encoding: Option<(Encoding, bool)>,
    errors: value::CellErrors,
) -> Result<Table, LoadError> {
    if errors.total > 0 {
        return Err(LoadError::BadCells {
            path: path.to_path_buf(),
            errors: errors.kept,
            total: errors.total,
        });
    }
    Ok(Table {
        path: path.to_path_buf(),
        columns: columns.into_iter().map(|c| c.data).collect(),
        lines,
        encoding,
        hash: None,
        absent: false,
    })
}

/// Maps each spec to the (0-based) position of its header in `headers`,
/// reporting missing and duplicated (ambiguous) declared headers.
fn match_headers(
    path: &Path,
    headers: &[String],
    specs: &[ColumnSpec],
    header_line: u64,
    hint: impl FnOnce() -> Option<String>,
) -> Result<Vec<usize>, LoadError> {
    let mut positions = Vec::with_capacity(specs.len());
    let mut missing: Vec<String> = Vec::new();
    for spec in specs {
        let wanted = spec.header.trim();
        match headers.iter().position(|h| h == wanted) {
            Some(p) => positions.push(p),
            None => {
                if !missing.iter().any(|m| m == wanted) {
                    missing.push(wanted.to_string());
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(LoadError::MissingColumns {
            path: path.to_path_buf(),
            missing,
            found: headers.iter().filter(|h| !h.is_empty()).cloned().collect(),
            hint: hint(),
        });
    }
    for (spec, &first) in specs.iter().zip(&positions) {
        let wanted = spec.header.trim();
        if let Some(second) = headers
            .iter()
            .enumerate()
            .skip(first + 1)
            .find(|(_, h)| *h == wanted)
            .map(|(i, _)| i)
        {
            return Err(LoadError::DuplicateHeader {
                path: path.to_path_buf(),
                header: wanted.to_string(),
                line: header_line,
                column: second as u64 + 1,
            });
        }
    }
    Ok(positions)
}

/// 1-based line of byte offset `pos` in `bytes`.
fn line_of(bytes: &[u8], pos: usize) -> u64 {
    let upto = bytes.get(..pos).unwrap_or(bytes);
    line_breaks(upto) + 1
}

/// Line breaks in `bytes` as the csv crate splits records: `\n`, `\r\n` (once) and a bare
/// `\r` (the line ends of old Macintosh exports).
pub(crate) fn line_breaks(bytes: &[u8]) -> u64 {
    // Most files end lines with LF alone: count the LFs, all bytes at once.
    if memchr::memchr(b'\r', bytes).is_none() {
        return count_byte(bytes, b'\n');
    }
    // A CR followed by an LF counts with the LF.
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| !(bytes.get(i) == Some(&b'\r') && bytes.get(i + 1) == Some(&b'\n')))
        .count() as u64
}

/// How many times `byte` occurs in `bytes`: counted in runs of 255 bytes into
/// 8-bit counters, which the compiler turns into vector compares.
fn count_byte(bytes: &[u8], byte: u8) -> u64 {
    bytes
        .chunks(255)
        .map(|run| {
            let n = run
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == byte)));
            u64::from(n)
        })
        .sum()
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Deterministic pseudo-random numbers for tests (xorshift64 from `seed`, which
/// must not be 0): each call gives one below its argument.
#[cfg(test)]
pub(crate) fn test_random(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::line_breaks;

    #[test]
    fn line_breaks_count_lf_crlf_and_bare_cr_once_each() {
        assert_eq!(line_breaks(b""), 0);
        assert_eq!(line_breaks(b"a\nb\n"), 2);
        assert_eq!(line_breaks(b"a\r\nb\r\n"), 2);
        assert_eq!(line_breaks(b"a\rb\r"), 2);
        assert_eq!(line_breaks(b"a\r\r\nb\n\r"), 4);
        let long = "x,\"y\r\nz\"\r\n".repeat(1000);
        assert_eq!(line_breaks(long.as_bytes()), 2000);
        let lf_only = "x,\"y\nz\"\n".repeat(1000);
        assert_eq!(line_breaks(lf_only.as_bytes()), 2000);
        // Every length around the 255-byte runs: LFs only, and for a third of
        // the lengths bare CRs and CR LFs too (a 3 is followed by a 0).
        for len in 0..700 {
            let text: Vec<u8> = (0..len)
                .map(|i| match (i * 7 + len) % 5 {
                    0 => b'\n',
                    1 | 3 if len % 3 == 0 => b'\r',
                    _ => b'a',
                })
                .collect();
            let by_hand = (0..len)
                .filter(|&i| match text[i] {
                    b'\n' => true,
                    b'\r' => text.get(i + 1) != Some(&b'\n'),
                    _ => false,
                })
                .count() as u64;
            assert_eq!(line_breaks(&text), by_hand, "{len}");
        }
    }
}

//! XLSX sources, read cell by cell (the sheet is never materialised as a
//! dense grid, so a stray cell at `XFD1048576` costs nothing).

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx, XlsxError};
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::value::{CellErrors, Column, Raw};
use super::{finish, match_headers, ColumnSpec, LoadError, Table, UnitResolver};

/// The most cells (including empty, formatted ones) a sheet may have.
pub const MAX_XLSX_CELLS: u64 = 10_000_000;

pub(crate) fn load(
    path: &Path,
    sheet: &str,
    specs: &[ColumnSpec],
    units: &dyn UnitResolver,
) -> Result<Table, LoadError> {
    let file = File::open(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut workbook: Xlsx<_> = Xlsx::new(BufReader::new(file)).map_err(|e| xlsx_error(path, e))?;
    let sheets = workbook.sheet_names();
    if !sheets.iter().any(|s| s == sheet) {
        return Err(LoadError::MissingSheet {
            path: path.to_path_buf(),
            sheet: sheet.to_string(),
            sheets,
        });
    }
    load_sheet(path, &mut workbook, sheet, specs, units, MAX_XLSX_CELLS)
}

fn load_sheet<RS: Read + Seek>(
    path: &Path,
    workbook: &mut Xlsx<RS>,
    sheet: &str,
    specs: &[ColumnSpec],
    units: &dyn UnitResolver,
    limit: u64,
) -> Result<Table, LoadError> {
    let mut reader = workbook
        .worksheet_cells_reader(sheet)
        .map_err(|e| xlsx_error(path, e))?;
    // Which cell styles are percentage formats (the value is then a fraction).
    let percent_styles: Vec<bool> = reader
        .styles()
        .iter()
        .map(|s| {
            s.number_format
                .as_ref()
                .is_some_and(|f| is_percent_format(&f.format_code))
        })
        .collect();

    let mut state = SheetState {
        path,
        specs,
        units,
        header: None,
        header_cells: Vec::new(),
        row: None,
        row_has_value: false,
        pending: vec![None; specs.len()],
        lines: Vec::new(),
        errors: CellErrors::default(),
    };
    let mut count: u64 = 0;
    while let Some((cell, style)) = reader
        .next_cell_with_style_id()
        .map_err(|e| xlsx_error(path, e))?
    {
        count += 1;
        if count > limit {
            return Err(LoadError::SheetTooLarge {
                path: path.to_path_buf(),
                sheet: sheet.to_string(),
                limit,
            });
        }
        let (row, col) = cell.get_position();
        let percent = percent_styles.get(style).copied().unwrap_or(false);
        state.cell(row, col, cell.get_value(), percent)?;
    }
    state.end_row()?;

    let SheetState {
        header,
        lines,
        errors,
        ..
    } = state;
    let Some(header) = header else {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    };
    finish(path, header.columns, lines, None, errors)
}

struct Header<'s> {
    /// For each sheet column (0-based), the specs reading it.
    readers: Vec<Vec<usize>>,
    columns: Vec<Column<'s>>,
}

struct SheetState<'s, 'v> {
    path: &'s Path,
    specs: &'s [ColumnSpec],
    units: &'s dyn UnitResolver,
    header: Option<Header<'s>>,
    /// Cells of the header row while it is read: (column, text).
    header_cells: Vec<(u32, String)>,
    /// The current row (0-based).
    row: Option<u32>,
    row_has_value: bool,
    /// The current row's value for each spec.
    pending: Vec<Option<(DataRef<'v>, bool)>>,
    lines: Vec<u64>,
    errors: CellErrors,
}

impl<'s, 'v> SheetState<'s, 'v> {
    fn cell(
        &mut self,
        row: u32,
        col: u32,
        value: &DataRef<'v>,
        percent: bool,
    ) -> Result<(), LoadError> {
        if let Some(current) = self.row {
            if row < current {
                return Err(LoadError::Xlsx {
                    path: self.path.to_path_buf(),
                    message: format!(
                        "the rows of the sheet are out of order (row {} after row {})",
                        row as u64 + 1,
                        current as u64 + 1
                    ),
                });
            }
            if row > current {
                self.end_row()?;
            }
        }
        self.row = Some(row);
        let empty = match value {
            DataRef::Empty => true,
            DataRef::String(s) => s.trim().is_empty(),
            DataRef::SharedString(s) => s.trim().is_empty(),
            _ => false,
        };
        if empty {
            return Ok(());
        }
        self.row_has_value = true;
        match &self.header {
            None => self.header_cells.push((col, header_text(value))),
            Some(header) => {
                if let Some(specs) = header.readers.get(col as usize) {
                    for &i in specs {
                        if let Some(slot) = self.pending.get_mut(i) {
                            *slot = Some((value.clone(), percent));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Finishes the current row: the header, or a data row. Rows without
    /// any value are not rows.
    fn end_row(&mut self) -> Result<(), LoadError> {
        let Some(row) = self.row else {
            return Ok(());
        };
        let line = row as u64 + 1;
        if !std::mem::take(&mut self.row_has_value) {
            return Ok(());
        }
        match &mut self.header {
            None => {
                let cells = std::mem::take(&mut self.header_cells);
                let width = cells
                    .iter()
                    .map(|(c, _)| *c as usize + 1)
                    .max()
                    .unwrap_or(0);
                let mut headers = vec![String::new(); width];
                for (c, text) in cells {
                    if let Some(h) = headers.get_mut(c as usize) {
                        *h = text;
                    }
                }
                let positions = match_headers(self.path, &headers, self.specs, line, || None)?;
                let mut readers = vec![Vec::new(); width];
                for (i, &p) in positions.iter().enumerate() {
                    if let Some(r) = readers.get_mut(p) {
                        r.push(i);
                    }
                }
                let columns = self
                    .specs
                    .iter()
                    .zip(&positions)
                    .map(|(spec, &p)| Column::new(spec, p as u64 + 1, true))
                    .collect();
                self.header = Some(Header { readers, columns });
            }
            Some(header) => {
                let mut buf = String::new();
                for (column, slot) in header.columns.iter_mut().zip(self.pending.iter_mut()) {
                    let taken = slot.take();
                    let raw = match &taken {
                        None => Raw::Empty,
                        Some((value, percent)) => raw_of(value, *percent, &mut buf),
                    };
                    column.push(raw, line, self.units, &mut self.errors);
                }
                self.lines.push(line);
            }
        }
        Ok(())
    }
}

/// The header text of a cell.
fn header_text(value: &DataRef<'_>) -> String {
    let mut buf = String::new();
    let text = match raw_of(value, false, &mut buf) {
        Raw::Text(s) => s.trim().to_string(),
        Raw::Number { text, .. } => text.to_string(),
        Raw::Bool(b) => if b { "TRUE" } else { "FALSE" }.to_string(),
        Raw::Invalid { shown, .. } => shown.to_string(),
        Raw::Empty => String::new(),
        Raw::DateTime(dt) => dt.to_string(),
    };
    text
}

/// A spreadsheet value as a raw cell; `buf` holds generated text.
fn raw_of<'a>(value: &'a DataRef<'_>, percent: bool, buf: &'a mut String) -> Raw<'a> {
    match value {
        DataRef::Empty => Raw::Empty,
        DataRef::String(s) => Raw::Text(s),
        DataRef::SharedString(s) => Raw::Text(s),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Raw::Text(s),
        DataRef::Bool(b) => Raw::Bool(*b),
        DataRef::Int(i) => {
            *buf = i.to_string();
            Raw::Number {
                text: buf,
                percent_style: percent,
            }
        }
        DataRef::Float(f) => {
            *buf = excel_number_text(*f);
            Raw::Number {
                text: buf,
                percent_style: percent,
            }
        }
        DataRef::DateTime(dt) if dt.is_datetime() => match excel_datetime(dt) {
            Some(dt) => Raw::DateTime(dt),
            None => {
                *buf = excel_number_text(dt.as_f64());
                Raw::Invalid {
                    shown: buf,
                    what: "a date that does not exist",
                }
            }
        },
        DataRef::DateTime(dt) => {
            *buf = excel_number_text(dt.as_f64());
            Raw::Invalid {
                shown: buf,
                what: "a duration",
            }
        }
        DataRef::Error(e) => {
            *buf = e.to_string();
            Raw::Invalid {
                shown: buf,
                what: "a spreadsheet error",
            }
        }
    }
}

/// The decimal text of a spreadsheet number: the shortest text that reads
/// back as the same binary number (so -0.23 is `-0.23`, 100.0 is `100`),
/// rounded like Excel to 15 significant digits (so a computed
/// `0.30000000000000004` is `0.3`, as Excel shows and compares it).
pub(crate) fn excel_number_text(f: f64) -> String {
    let shortest = format!("{f}");
    match Decimal::from_str_exact(&shortest) {
        Ok(d) => {
            let d = d.normalize();
            let digits = d.mantissa().unsigned_abs().to_string().len();
            let d = if digits > 15 {
                d.round_sf(15).unwrap_or(d).normalize()
            } else {
                d
            };
            d.to_string()
        }
        Err(_) => shortest,
    }
}

/// The date-time of an Excel serial date, to the nearest second.
fn excel_datetime(dt: &calamine::ExcelDateTime) -> Option<NaiveDateTime> {
    let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
    let base = NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))?.and_hms_opt(
        u32::from(h),
        u32::from(mi),
        u32::from(s),
    )?;
    if ms >= 500 {
        base.checked_add_signed(chrono::TimeDelta::seconds(1))
    } else {
        Some(base)
    }
}

/// Whether an Excel number format shows the value as a percentage (a `%`
/// outside quotes and escapes).
fn is_percent_format(code: &str) -> bool {
    let mut quoted = false;
    let mut chars = code.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if !quoted => {
                chars.next();
            }
            '%' if !quoted => return true,
            _ => {}
        }
    }
    false
}

fn xlsx_error(path: &Path, e: XlsxError) -> LoadError {
    let message = match &e {
        XlsxError::Io(io) => format!("{io}"),
        XlsxError::Zip(_) => "it is not an .xlsx workbook (not a valid zip archive)".to_string(),
        XlsxError::Password => "it is protected by a password".to_string(),
        _ => format!("it is damaged ({e})"),
    };
    LoadError::Xlsx {
        path: path.to_path_buf(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::NoUnits;

    #[test]
    fn excel_numbers() {
        assert_eq!(excel_number_text(-0.23), "-0.23");
        assert_eq!(excel_number_text(100.0), "100");
        assert_eq!(excel_number_text(87.5), "87.5");
        // The text in the Dong'e workbook: the same binary number as -0.07.
        let stored: f64 = "-0.07000000000000001".parse().unwrap();
        assert_eq!(excel_number_text(stored), "-0.07");
        // Computed noise beyond Excel's 15 significant digits is dropped.
        assert_eq!(excel_number_text(0.30000000000000004), "0.3");
        assert_eq!(excel_number_text(0.1 + 0.2), "0.3");
        assert_eq!(excel_number_text(1e-7), "0.0000001");
        assert_eq!(excel_number_text(123456789012.25), "123456789012.25");
        assert_eq!(excel_number_text(-0.0), "0");
    }

    #[test]
    fn too_many_cells() {
        let path = std::env::temp_dir().join(format!(
            "hotline-data-xlsx-limit-{}.xlsx",
            std::process::id()
        ));
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("S").unwrap();
        ws.write_string(0, 0, "a").unwrap();
        for r in 1..=20 {
            ws.write_number(r, 0, f64::from(r)).unwrap();
        }
        wb.save(&path).unwrap();
        let specs = [ColumnSpec {
            name: "a".into(),
            header: "a".into(),
            ty: super::super::ColumnType::Integer,
            nullable: false,
        }];
        let open = || -> Xlsx<_> { Xlsx::new(BufReader::new(File::open(&path).unwrap())).unwrap() };
        let err = load_sheet(&path, &mut open(), "S", &specs, &NoUnits, 10).unwrap_err();
        assert!(
            matches!(err, LoadError::SheetTooLarge { limit: 10, .. }),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("sheet `S` of `"), "{err}");
        let table = load_sheet(&path, &mut open(), "S", &specs, &NoUnits, 21).unwrap();
        assert_eq!(table.len(), 20);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn percent_formats() {
        assert!(is_percent_format("0%"));
        assert!(is_percent_format("0.00%"));
        assert!(!is_percent_format("General"));
        assert!(!is_percent_format("0.00\"%\""));
        assert!(!is_percent_format("0\\%"));
    }
}

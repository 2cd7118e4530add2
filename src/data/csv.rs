//! CSV sources.

use std::borrow::Cow;
use std::path::Path;

use ::csv::{ByteRecord, ReaderBuilder};
use encoding_rs::{DecoderResult, GB18030};

use super::value::{CellErrors, Column, Raw};
use super::{
    finish, line_of, match_headers, ColumnSpec, Encoding, LoadError, Table, UnitResolver, UTF8_BOM,
};

pub(crate) fn load(
    path: &Path,
    declared: Option<Encoding>,
    specs: &[ColumnSpec],
    units: &dyn UnitResolver,
) -> Result<Table, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (text, encoding) = decode(path, &bytes, declared)?;
    let text_bytes = text.as_bytes();

    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text_bytes);
    let mut record = ByteRecord::new();
    let malformed = |line: u64, e: ::csv::Error| LoadError::Malformed {
        path: path.to_path_buf(),
        line,
        message: format!("the file cannot be read as CSV: {e}"),
        hint: None,
    };

    // The header: the first record that is not a blank line.
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| malformed(reader.position().line(), e))?;
        if !more {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
            });
        }
        if !is_blank(&record) {
            break;
        }
    }
    let header_line = record.position().map_or(1, |p| p.line());
    let header_start = record.position().map_or(0, |p| p.byte() as usize);
    let header_end = reader.position().byte() as usize;
    check_unclosed_quote(path, text_bytes, header_start, header_end)?;
    let headers: Vec<String> = record
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let width = headers.len();
    let positions = match_headers(path, &headers, specs, header_line, || {
        encoding_hint(&bytes, encoding)
    })?;

    let mut columns: Vec<Column<'_>> = specs
        .iter()
        .zip(&positions)
        .map(|(spec, &p)| Column::new(spec, p as u64 + 1, false))
        .collect();
    // A rough row-count guess from the file size avoids most regrowing.
    let guess = (text_bytes.len() / (64 * width.max(1))).min(1 << 20);
    for c in &mut columns {
        c.reserve(guess);
    }
    let mut lines: Vec<u64> = Vec::with_capacity(guess);
    let mut errors = CellErrors::default();
    let mut last_start = header_start;

    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| malformed(reader.position().line(), e))?;
        if !more {
            break;
        }
        let (line, start) = record
            .position()
            .map_or((0, 0), |p| (p.line(), p.byte() as usize));
        if record.len() != width {
            if is_blank(&record) {
                continue;
            }
            let end = reader.position().byte() as usize;
            check_unclosed_quote(path, text_bytes, start, end)?;
            return Err(ragged(path, text_bytes, &record, line, start, end, width));
        }
        for (column, &p) in columns.iter_mut().zip(&positions) {
            let field = record.get(p).unwrap_or_default();
            // The decoded text is UTF-8 and fields split at ASCII bytes.
            let raw = match std::str::from_utf8(field) {
                Ok(s) => Raw::Text(s),
                Err(_) => Raw::Invalid {
                    shown: "(bytes that are not text)",
                    what: "bytes that are not text",
                },
            };
            column.push(raw, line, units, &mut errors);
        }
        lines.push(line);
        last_start = start;
    }
    // An unclosed quote swallows the rest of the file into the last record,
    // which may still have the right number of fields.
    check_unclosed_quote(path, text_bytes, last_start, text_bytes.len())?;

    finish(path, columns, lines, Some(encoding), errors)
}

/// A record that is an empty or whitespace-only line.
fn is_blank(record: &ByteRecord) -> bool {
    record.len() == 0
        || (record.len() == 1 && std::str::from_utf8(&record[0]).is_ok_and(|s| s.trim().is_empty()))
}

fn ragged(
    path: &Path,
    text: &[u8],
    record: &ByteRecord,
    line: u64,
    start: usize,
    end: usize,
    width: usize,
) -> LoadError {
    let n = record.len();
    let last_line = line_of(text, end.saturating_sub(1).max(start));
    // The record's own trailing line break does not count.
    let spans = text
        .get(start..end)
        .map(|t| t.trim_ascii_end())
        .is_some_and(|t| t.contains(&b'\n'));
    let hint = if spans {
        Some(format!(
            "the record runs from line {line} to line {last_line}: a quote (`\"`) may be missing or unbalanced"
        ))
    } else if n < width {
        Some("a field may be missing, or a comma may be missing between fields".to_string())
    } else {
        Some("a field may contain a comma but not be quoted (`\"…\"`)".to_string())
    };
    LoadError::Malformed {
        path: path.to_path_buf(),
        line,
        message: format!(
            "line {line} has {n} field{}, the header has {width}",
            if n == 1 { "" } else { "s" }
        ),
        hint,
    }
}

/// Errors when the record in `text[start..end]` ends inside a quoted field.
fn check_unclosed_quote(
    path: &Path,
    text: &[u8],
    start: usize,
    end: usize,
) -> Result<(), LoadError> {
    if end < text.len() {
        // A later record exists, so this one was closed.
        return Ok(());
    }
    let Some(record) = text.get(start..) else {
        return Ok(());
    };
    if let Some(open) = unclosed_quote(record) {
        let line = line_of(text, start + open);
        return Err(LoadError::Malformed {
            path: path.to_path_buf(),
            line,
            message: format!(
                "a quoted field opened on line {line} is never closed; it runs to the end of the file"
            ),
            hint: Some("add the missing closing quote (`\"`)".to_string()),
        });
    }
    Ok(())
}

/// The offset of the opening quote if `record` ends inside a quoted field
/// (following the csv crate's rules: a quote opens a field only at its start,
/// `""` inside quotes is a literal quote).
fn unclosed_quote(record: &[u8]) -> Option<usize> {
    #[derive(Clone, Copy)]
    enum S {
        FieldStart,
        Unquoted,
        Quoted(usize),
        QuoteInQuoted(usize),
    }
    let mut state = S::FieldStart;
    for (i, &b) in record.iter().enumerate() {
        state = match (state, b) {
            (S::FieldStart, b'"') => S::Quoted(i),
            (S::FieldStart | S::Unquoted, b',' | b'\n' | b'\r') => S::FieldStart,
            (S::FieldStart | S::Unquoted, _) => S::Unquoted,
            (S::Quoted(o), b'"') => S::QuoteInQuoted(o),
            (S::Quoted(o), _) => S::Quoted(o),
            (S::QuoteInQuoted(o), b'"') => S::Quoted(o),
            (S::QuoteInQuoted(_), b',' | b'\n' | b'\r') => S::FieldStart,
            (S::QuoteInQuoted(_), _) => S::Unquoted,
        };
    }
    match state {
        S::Quoted(o) => Some(o),
        _ => None,
    }
}

/// Decodes the file to UTF-8: returns the text (without BOM) and the
/// encoding used with whether it was detected.
fn decode<'b>(
    path: &Path,
    bytes: &'b [u8],
    declared: Option<Encoding>,
) -> Result<(Cow<'b, str>, (Encoding, bool)), LoadError> {
    let bom = bytes.starts_with(UTF8_BOM);
    let malformed = |pos: usize, message: String, hint: Option<String>| LoadError::Malformed {
        path: path.to_path_buf(),
        line: line_of(bytes, pos),
        message,
        hint,
    };
    let utf8 = |detected: bool| {
        let body = bytes.get(UTF8_BOM.len()..).filter(|_| bom).unwrap_or(bytes);
        match std::str::from_utf8(body) {
            Ok(s) => Ok((Cow::Borrowed(s), (Encoding::Utf8, detected))),
            Err(e) => {
                let pos = e.valid_up_to() + if bom { UTF8_BOM.len() } else { 0 };
                let (message, hint) = if bom {
                    (
                        "the file starts with a UTF-8 byte-order mark but has bytes that are not valid UTF-8".to_string(),
                        Some("re-save the file as UTF-8".to_string()),
                    )
                } else {
                    let looks_gbk = decode_gb18030(bytes).is_ok();
                    (
                        "the file has bytes that are not valid UTF-8".to_string(),
                        Some(if looks_gbk {
                            "the file looks GBK-encoded: declare `encoding gbk`".to_string()
                        } else {
                            "re-save the file as UTF-8".to_string()
                        }),
                    )
                };
                Err(malformed(pos, message, hint))
            }
        }
    };
    match declared {
        Some(Encoding::Utf8) => utf8(false),
        None if bom || std::str::from_utf8(bytes).is_ok() => utf8(true),
        Some(Encoding::Gbk) if bom => Err(malformed(
            0,
            "the file starts with a UTF-8 byte-order mark but is declared `encoding gbk`"
                .to_string(),
            Some("declare `encoding utf8`, or leave the encoding out to detect it".to_string()),
        )),
        Some(Encoding::Gbk) => match decode_gb18030(bytes) {
            Ok(s) => Ok((Cow::Owned(s), (Encoding::Gbk, false))),
            Err(pos) => {
                let hint = if std::str::from_utf8(bytes).is_ok() {
                    "the file looks UTF-8-encoded: declare `encoding utf8`, or leave the encoding out to detect it"
                } else {
                    "re-save the file as GBK or UTF-8"
                };
                Err(malformed(
                    pos,
                    "the file has bytes that are not valid GBK".to_string(),
                    Some(hint.to_string()),
                ))
            }
        },
        None => match decode_gb18030(bytes) {
            Ok(s) => Ok((Cow::Owned(s), (Encoding::Gbk, true))),
            Err(pos) => Err(malformed(
                pos,
                "the file is neither valid UTF-8 nor valid GBK".to_string(),
                Some("re-save the file as UTF-8".to_string()),
            )),
        },
    }
}

/// Decodes GB18030/GBK strictly; the error is the byte offset of the first
/// malformed sequence.
pub(crate) fn decode_gb18030(bytes: &[u8]) -> Result<String, usize> {
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(2));
    let mut out = String::with_capacity(capacity);
    let mut done = 0usize;
    loop {
        let rest = bytes.get(done..).unwrap_or_default();
        let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut out, true);
        match result {
            DecoderResult::InputEmpty => return Ok(out),
            DecoderResult::OutputFull => {
                done += read;
                out.reserve(rest.len().saturating_sub(read).saturating_mul(2) + 16);
            }
            DecoderResult::Malformed(bad, extra) => {
                let end = done + read;
                return Err(end.saturating_sub(usize::from(bad) + usize::from(extra)));
            }
        }
    }
}

/// A hint for missing columns that may come from a wrong encoding.
fn encoding_hint(bytes: &[u8], (encoding, detected): (Encoding, bool)) -> Option<String> {
    match encoding {
        Encoding::Gbk if std::str::from_utf8(bytes).is_ok() => Some(
            "the file is valid UTF-8 but is declared `encoding gbk`: declare `encoding utf8`"
                .to_string(),
        ),
        Encoding::Gbk if detected => Some(
            "the file is not UTF-8, so it was read as GBK; if the headers look garbled, re-save the file as UTF-8"
                .to_string(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_scanner() {
        assert_eq!(unclosed_quote(b"a,b,c\n"), None);
        assert_eq!(unclosed_quote(b"a,\"b\nc\",d\n"), None);
        assert_eq!(unclosed_quote(b"a,\"b \"\"x\"\" c\"\n"), None);
        assert_eq!(unclosed_quote(b"a,\"b\nc,d\n"), Some(2));
        assert_eq!(unclosed_quote(b"a,b\"c,d\n"), None);
        assert_eq!(unclosed_quote(b"\"abc\"\"\n"), Some(0));
    }

    #[test]
    fn gb18030_positions() {
        let (gbk, _, _) = encoding_rs::GB18030.encode("工单\n编号");
        assert_eq!(decode_gb18030(&gbk).as_deref(), Ok("工单\n编号"));
        let mut bad = gbk.to_vec();
        bad.extend_from_slice(b"\nx\xFF\xFFy");
        let pos = decode_gb18030(&bad).unwrap_err();
        assert_eq!(&bad[pos..pos + 1], b"\xFF");
        assert_eq!(line_of(&bad, pos), 3);
    }
}

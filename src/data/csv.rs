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
    // The csv crate is lenient about quotes; check them first.
    check_quotes(path, text_bytes)?;

    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text_bytes);
    let mut record = ByteRecord::new();
    let malformed = |line: u64, e: ::csv::Error| LoadError::Malformed {
        path: path.to_path_buf(),
        line,
        message: format!("line {line} cannot be read as CSV ({e})"),
        hint: None,
    };
    let mut lines_at = LineCounter::new(text_bytes);

    // The header: the first record that is not a blank line.
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| malformed(lines_at.line, e))?;
        if !more {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
            });
        }
        if !is_blank(&record) {
            break;
        }
    }
    let (header_line, _) = lines_at.start_of(&record);
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

    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| malformed(lines_at.line, e))?;
        if !more {
            break;
        }
        let (line, start) = lines_at.start_of(&record);
        if record.len() != width {
            if is_blank(&record) {
                continue;
            }
            let end = reader.position().byte() as usize;
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
    }

    finish(path, columns, lines, Some(encoding), errors)
}

/// Line numbers of records. The csv crate's own positions are off for CRLF
/// line ends and leading blank lines (a record's reported start may be the
/// line end before it), so lines are counted here from byte offsets.
struct LineCounter<'t> {
    text: &'t [u8],
    /// Byte offset up to which newlines are counted.
    pos: usize,
    /// The line at `pos`.
    line: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t [u8]) -> Self {
        LineCounter {
            text,
            pos: 0,
            line: 1,
        }
    }

    /// The 1-based line and byte offset where `record` starts. Records are
    /// passed in file order.
    fn start_of(&mut self, record: &ByteRecord) -> (u64, usize) {
        let reported = record.position().map_or(self.pos, |p| p.byte() as usize);
        let mut start = reported.max(self.pos);
        while let Some(b'\r' | b'\n') = self.text.get(start) {
            start += 1;
        }
        let skipped = self.text.get(self.pos..start).unwrap_or_default();
        self.line += super::line_breaks(skipped);
        self.pos = start;
        (self.line, start)
    }
}

/// A record that is an empty or whitespace-only line.
fn is_blank(record: &ByteRecord) -> bool {
    record.is_empty()
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

/// A quoting error found by [`scan_quotes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteProblem {
    /// The quoted field opened at this offset runs to the end of the file.
    Unclosed { open: usize },
    /// The quoted field opened at `open` is closed and followed by text at `at`.
    TextAfterQuote { open: usize, at: usize },
}

/// Rejects quoting that the (lenient) csv crate would silently accept.
fn check_quotes(path: &Path, text: &[u8]) -> Result<(), LoadError> {
    let Err(problem) = scan_quotes(text) else {
        return Ok(());
    };
    let (message, hint) = match problem {
        QuoteProblem::Unclosed { open } => {
            let line = line_of(text, open);
            (
                format!(
                    "a quoted field opened on line {line} is never closed; it runs to the end of the file"
                ),
                "add the missing closing quote (`\"`)".to_string(),
            )
        }
        QuoteProblem::TextAfterQuote { open, at } => {
            let line = line_of(text, open);
            let after = String::from_utf8_lossy(text.get(at..).unwrap_or_default())
                .chars()
                .next()
                .unwrap_or(' ');
            let closed_on = line_of(text, at);
            let where_closed = if closed_on == line {
                String::new()
            } else {
                format!(" on line {closed_on}")
            };
            (
                format!(
                    "a quoted field opened on line {line} is closed{where_closed} but followed by `{after}`"
                ),
                "a quote (`\"`) may be missing, or a quote inside a quoted field is not doubled (`\"\"`)"
                    .to_string(),
            )
        }
    };
    let open = match problem {
        QuoteProblem::Unclosed { open } | QuoteProblem::TextAfterQuote { open, .. } => open,
    };
    Err(LoadError::Malformed {
        path: path.to_path_buf(),
        line: line_of(text, open),
        message,
        hint: Some(hint),
    })
}

/// Follows the csv crate's quoting rules (a quote opens a field only at its
/// start; `""` inside quotes is a literal quote) and reports a quoted field
/// that is never closed, or is followed by text other than spaces before the
/// next comma or line end. Only quote characters are visited one by one.
fn scan_quotes(text: &[u8]) -> Result<(), QuoteProblem> {
    let mut pos = 0;
    while let Some(q) = find_quote(text, pos) {
        let at_field_start = q == 0 || matches!(text.get(q - 1), Some(b',' | b'\n' | b'\r'));
        if !at_field_start {
            // A literal quote inside an unquoted field.
            pos = q + 1;
            continue;
        }
        // Inside a quoted field opened at `q`: find its closing quote.
        let mut p = q + 1;
        let close = loop {
            let Some(c) = find_quote(text, p) else {
                return Err(QuoteProblem::Unclosed { open: q });
            };
            if text.get(c + 1) == Some(&b'"') {
                p = c + 2;
            } else {
                break c;
            }
        };
        let mut after = close + 1;
        while let Some(b' ' | b'\t') = text.get(after) {
            after += 1;
        }
        match text.get(after) {
            None | Some(b',' | b'\n' | b'\r') => pos = after,
            Some(_) => return Err(QuoteProblem::TextAfterQuote { open: q, at: after }),
        }
    }
    Ok(())
}

/// The offset of the next `"` at or after `from`.
fn find_quote(text: &[u8], from: usize) -> Option<usize> {
    let hay = text.get(from..)?;
    let mut chunks = hay.chunks_exact(32);
    let mut offset = 0;
    for chunk in &mut chunks {
        // A branch-free test per chunk, which the compiler vectorises.
        if chunk.iter().fold(false, |acc, &b| acc | (b == b'"')) {
            break;
        }
        offset += 32;
    }
    hay.get(offset..)?
        .iter()
        .position(|&b| b == b'"')
        .map(|i| from + offset + i)
}

/// Decodes the file to UTF-8: returns the text (without BOM) and the
/// encoding used with whether it was detected.
fn decode<'b>(
    path: &Path,
    bytes: &'b [u8],
    declared: Option<Encoding>,
) -> Result<(Cow<'b, str>, (Encoding, bool)), LoadError> {
    let bom = bytes.starts_with(UTF8_BOM);
    // `message` has `{line}` where the line of `pos` goes.
    let malformed = |pos: usize, message: &str, hint: &str| {
        let line = line_of(bytes, pos);
        LoadError::Malformed {
            path: path.to_path_buf(),
            line,
            message: message.replace("{line}", &line.to_string()),
            hint: Some(hint.to_string()),
        }
    };
    let utf8 = |detected: bool| {
        let body = bytes.get(UTF8_BOM.len()..).filter(|_| bom).unwrap_or(bytes);
        match std::str::from_utf8(body) {
            Ok(s) => Ok((Cow::Borrowed(s), (Encoding::Utf8, detected))),
            Err(e) => {
                let pos = e.valid_up_to() + if bom { UTF8_BOM.len() } else { 0 };
                let (message, hint) = if bom {
                    (
                        "line {line} has bytes that are not valid UTF-8, though the file starts with a UTF-8 byte-order mark",
                        "re-save the file as UTF-8",
                    )
                } else if decode_gb18030(bytes).is_ok() {
                    (
                        "line {line} has bytes that are not valid UTF-8",
                        "the file looks GBK-encoded: declare `encoding gbk`",
                    )
                } else {
                    (
                        "line {line} has bytes that are not valid UTF-8",
                        "re-save the file as UTF-8",
                    )
                };
                Err(malformed(pos, message, hint))
            }
        }
    };
    if declared.is_none() && !bom {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Ok((Cow::Borrowed(s), (Encoding::Utf8, true)));
        }
    }
    match declared {
        Some(Encoding::Utf8) => utf8(false),
        None if bom => utf8(true),
        Some(Encoding::Gbk) if bom => Err(malformed(
            0,
            "the file starts with a UTF-8 byte-order mark but is declared `encoding gbk`",
            "declare `encoding utf8`, or leave the encoding out to detect it",
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
                    "line {line} has bytes that are not valid GBK",
                    hint,
                ))
            }
        },
        None => match decode_gb18030(bytes) {
            Ok(s) => Ok((Cow::Owned(s), (Encoding::Gbk, true))),
            Err(pos) => Err(malformed(
                pos,
                "the file is neither UTF-8 nor GBK: line {line} has bytes that are not valid in either",
                "re-save the file as UTF-8",
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
        assert_eq!(scan_quotes(b"a,b,c\n"), Ok(()));
        assert_eq!(scan_quotes(b"a,\"b\nc\",d\n"), Ok(()));
        assert_eq!(scan_quotes(b"a,\"b \"\"x\"\" c\"\r\n"), Ok(()));
        assert_eq!(scan_quotes(b"a,\"b\" ,c\n"), Ok(()));
        assert_eq!(scan_quotes(b"a,b\"c,d\n"), Ok(()));
        assert_eq!(scan_quotes(b"a,\"\""), Ok(()));
        assert_eq!(
            scan_quotes(b"a,\"b\nc,d\n"),
            Err(QuoteProblem::Unclosed { open: 2 })
        );
        assert_eq!(
            scan_quotes(b"\"abc\"\"\n"),
            Err(QuoteProblem::Unclosed { open: 0 })
        );
        assert_eq!(
            scan_quotes(b"1,\"2\n3,\"4\n"),
            Err(QuoteProblem::TextAfterQuote { open: 2, at: 8 })
        );
    }

    #[test]
    fn find_quote_across_chunks() {
        for len in [0usize, 1, 31, 32, 33, 64, 100] {
            for at in 0..len {
                let mut v = vec![b'x'; len];
                v[at] = b'"';
                for from in 0..=len {
                    let expect = (from <= at).then_some(at);
                    assert_eq!(find_quote(&v, from), expect, "{len} {at} {from}");
                }
            }
            assert_eq!(find_quote(&vec![b'x'; len], 0), None);
        }
        let long = format!("a,\"{}\"\"{}\",c\n", "y".repeat(70), "z".repeat(40));
        assert_eq!(scan_quotes(long.as_bytes()), Ok(()));
        let open = format!("a,b\n{},\"{}", "y".repeat(70), "z".repeat(40));
        assert_eq!(
            scan_quotes(open.as_bytes()),
            Err(QuoteProblem::Unclosed { open: 75 })
        );
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

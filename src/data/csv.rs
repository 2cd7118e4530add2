//! CSV sources.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::ast::FingerprintKind;

use super::digest::FileHasher;
use super::gbk;
use super::marks::{Ends, Marks};
use super::value::{CellErrors, Column};
use super::{
    line_of, match_headers, ColumnData, ColumnSpec, Encoding, LoadError, Table, UnitResolver,
    UTF8_BOM,
};

/// The size of the largest blocks a CSV file is read in, and of the first block
/// when the encoding is to be detected (it is detected on the whole first block).
/// A block ends at a record boundary, so it may be longer when a record is.
pub const BLOCK_BYTES: usize = 2 << 20;

/// The size of the smallest blocks a file is cut into so that the cores can
/// share it: each block costs a fold and a merge of its aggregates (about a
/// quarter of a millisecond for the Dong'e policy).
pub const MIN_BLOCK_BYTES: usize = 256 << 10;

/// Where the declared columns are in a CSV file, and how it is encoded.
#[derive(Debug, Clone)]
pub(crate) struct CsvLayout {
    /// The file position of each declared column, in declaration order.
    positions: Vec<usize>,
    /// Fields per record.
    width: usize,
    pub encoding: (Encoding, bool),
}

/// A run of whole records cut from a CSV file, not yet decoded. The line it
/// starts on is not counted when it is cut (that would be a pass over its
/// bytes while the file is held): typing it counts its lines
/// ([`BlockRows::end_line`]).
#[derive(Debug)]
pub(crate) struct Block {
    /// The records' bytes (without a leading byte-order mark).
    pub bytes: Vec<u8>,
    /// The block's place in the file, from 0.
    pub index: usize,
}

impl Drop for Block {
    /// The buffer goes back to the thread that typed the block, for its next read.
    fn drop(&mut self) {
        super::spare::give_bytes(std::mem::take(&mut self.bytes));
    }
}

/// Records of one block, typed.
#[derive(Debug)]
pub(crate) struct BlockRows {
    pub columns: Vec<ColumnData>,
    pub lines: Vec<u64>,
    pub errors: CellErrors,
    /// The line after the block's: the line it was typed as starting on,
    /// plus its line breaks.
    pub end_line: u64,
}

/// Reads a CSV file block by block: the first block is read (and its header
/// parsed) when the reader is opened; [`CsvReader::next_block`] gives the rest.
/// The file is hashed block by block as the blocks are cut (they are the file's
/// bytes in order), unless [`CsvReader::hash_later`] hands that to the caller.
pub(crate) struct CsvReader {
    path: PathBuf,
    file: std::fs::File,
    block_bytes: usize,
    /// Bytes read but not yet handed out (the start of a record).
    pending: Vec<u8>,
    eof: bool,
    next_index: usize,
    /// Bytes read from the file so far.
    read: u64,
    hasher: FileHasher,
    /// Whether the blocks after the ones read so far are left to the caller to hash.
    hashed_by_caller: bool,
    /// The layout found in the header.
    pub layout: CsvLayout,
    /// The first block's records.
    pub first: Option<BlockRows>,
}

impl CsvReader {
    /// Opens `path`, detects or checks its encoding, reads its header and
    /// types the records of the first block; the file is hashed in `fingerprint`'s hash.
    pub fn open(
        path: &Path,
        declared: Option<Encoding>,
        specs: &[ColumnSpec],
        keep: &[bool],
        units: &dyn UnitResolver,
        block_bytes: usize,
        fingerprint: FingerprintKind,
    ) -> Result<CsvReader, LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut reader = CsvReader {
            path: path.to_path_buf(),
            file,
            block_bytes: block_bytes.max(1),
            pending: Vec::new(),
            eof: false,
            next_index: 0,
            read: 0,
            hasher: FileHasher::new(fingerprint),
            hashed_by_caller: false,
            layout: CsvLayout {
                positions: Vec::new(),
                width: 0,
                encoding: (Encoding::Utf8, false),
            },
            first: None,
        };
        let first = reader.read_block().map_err(io)?.unwrap_or(Block {
            bytes: Vec::new(),
            index: 0,
        });
        let (layout, rows) = parse_first(path, &first, declared, specs, keep, units)?;
        reader.layout = layout;
        reader.first = Some(rows);
        Ok(reader)
    }

    /// How many bytes of the file have been read.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Reads the blocks after the first in blocks of `bytes`.
    pub fn set_block_bytes(&mut self, bytes: usize) {
        self.block_bytes = bytes.max(1);
    }

    /// How many blocks have been read (the first, read when opened, included):
    /// the index of the next block.
    pub fn blocks_read(&self) -> usize {
        self.next_index
    }

    /// The next block of whole records, or `None` at the end of the file.
    pub fn next_block(&mut self) -> Result<Option<Block>, LoadError> {
        self.read_block().map_err(|source| LoadError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// The first 12 hex digits of the digest of the blocks it hashed (all of
    /// them unless [`CsvReader::hash_later`]); call at the end. `None` for
    /// `fingerprint none`.
    pub fn hash(&self) -> Option<String> {
        self.hasher.short()
    }

    /// From now on the blocks are not hashed here: the caller hashes them, in
    /// order, after the hash of the blocks so far that this gives.
    pub fn hash_later(&mut self) -> FileHasher {
        self.hashed_by_caller = true;
        self.hasher.clone()
    }

    fn read_block(&mut self) -> std::io::Result<Option<Block>> {
        use std::io::Read;
        loop {
            if !self.eof && self.pending.len() < self.block_bytes {
                let want = self.block_bytes - self.pending.len();
                self.pending.reserve(want);
                let got = (&mut self.file)
                    .take(want as u64)
                    .read_to_end(&mut self.pending)?;
                self.read += got as u64;
                if got == 0 {
                    self.eof = true;
                }
                continue;
            }
            if self.pending.is_empty() {
                return Ok(None);
            }
            let cut = if self.eof {
                Some(self.pending.len())
            } else {
                record_boundary(&self.pending)
            };
            let Some(cut) = cut else {
                // One record longer than a block: read on.
                self.block_bytes = self.block_bytes.saturating_mul(2);
                continue;
            };
            // The leftover (the start of the next record) goes into a buffer
            // this thread is done with, not a new one.
            let mut rest = super::spare::bytes();
            rest.extend_from_slice(self.pending.get(cut..).unwrap_or_default());
            self.pending.truncate(cut);
            let bytes = std::mem::replace(&mut self.pending, rest);
            if !self.hashed_by_caller {
                self.hasher.update(&bytes);
            }
            // A block ends with a line feed or at the end of the file: no line
            // end is split between two blocks.
            let block = Block {
                index: self.next_index,
                bytes,
            };
            self.next_index += 1;
            return Ok(Some(block));
        }
    }

    /// What the records of the later blocks are typed with.
    pub fn parser(&self) -> BlockParser {
        BlockParser {
            path: self.path.clone(),
            layout: self.layout.clone(),
        }
    }
}

/// Types the blocks of one CSV file after the first (on any thread).
#[derive(Debug, Clone)]
pub(crate) struct BlockParser {
    path: PathBuf,
    layout: CsvLayout,
}

impl BlockParser {
    /// Types the records of a block (not the first) as starting on `first_line`:
    /// the lines of its rows, cell errors and problems count from there.
    pub fn parse(
        &self,
        block: &Block,
        first_line: u64,
        specs: &[ColumnSpec],
        keep: &[bool],
        units: &dyn UnitResolver,
    ) -> Result<BlockRows, LoadError> {
        if self.layout.encoding.0 == Encoding::Gbk {
            if let Some(rows) = type_gbk_block(block, first_line, &self.layout, specs, keep, units)
            {
                return Ok(rows);
            }
        }
        let text = match self.layout.encoding {
            // GBK found on the first block, which was not UTF-8: a block that
            // is not GBK either is reported as when the first block is not.
            (Encoding::Gbk, true) => match gbk::decode(&block.bytes) {
                Ok(text) => Cow::Owned(text),
                Err(pos) => return Err(neither(&self.path, &block.bytes, pos, first_line)),
            },
            (encoding, _) => decode(&self.path, &block.bytes, Some(encoding), first_line, false)?.0,
        };
        parse_records(
            &self.path,
            &text,
            first_line,
            &self.layout,
            specs,
            keep,
            units,
        )
    }
}

/// The end of the last whole record in `bytes`: just after the last line feed
/// that is not inside a quoted field, following the csv crate's quoting rules.
fn record_boundary(bytes: &[u8]) -> Option<usize> {
    // The stretches outside quoted fields, in order; the last line feed of the
    // last stretch that has one is the boundary.
    let mut stretches: Vec<(usize, usize)> = Vec::new();
    let mut outside_from = 0;
    let mut pos = 0;
    let mut open = false;
    while let Some(q) = find_quote(bytes, pos) {
        let at_field_start = q == 0 || matches!(bytes.get(q - 1), Some(b',' | b'\n' | b'\r'));
        if !at_field_start {
            pos = q + 1;
            continue;
        }
        stretches.push((outside_from, q));
        let mut p = q + 1;
        let close = loop {
            match find_quote(bytes, p) {
                None => break None,
                Some(c) if bytes.get(c + 1) == Some(&b'"') => p = c + 2,
                Some(c) => break Some(c),
            }
        };
        match close {
            Some(c) => {
                outside_from = c + 1;
                pos = c + 1;
            }
            None => {
                open = true;
                break;
            }
        }
    }
    if !open {
        stretches.push((outside_from, bytes.len()));
    }
    stretches
        .iter()
        .rev()
        .find_map(|&(from, to)| memchr::memrchr(b'\n', bytes.get(from..to)?).map(|i| from + i + 1))
}

/// Decodes the first block, reads the header and types the block's records.
fn parse_first(
    path: &Path,
    block: &Block,
    declared: Option<Encoding>,
    specs: &[ColumnSpec],
    keep: &[bool],
    units: &dyn UnitResolver,
) -> Result<(CsvLayout, BlockRows), LoadError> {
    let bytes = &block.bytes;
    let (text, encoding) = decode(path, bytes, declared, 1, true)?;
    let mut records = Records::new(&text, 1);
    check_quotes(path, text.as_bytes(), &records.marks, 1)?;
    let mut fields = Vec::new();
    // The header: the first record that is not a blank line.
    let header_line = loop {
        let Some(record) = records.next_record(&mut fields) else {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
            });
        };
        if !is_blank(&records, &fields) {
            break record.line;
        }
    };
    let headers: Vec<String> = fields
        .iter()
        .map(|&h| records.text_of(h).trim().to_string())
        .collect();
    let positions = match_headers(path, &headers, specs, header_line, || {
        encoding_hint(bytes, encoding)
    })?;
    let layout = CsvLayout {
        positions,
        width: headers.len(),
        encoding,
    };
    let rows = type_records(
        path,
        &text,
        1,
        &mut records,
        true,
        &layout,
        specs,
        keep,
        units,
    )?;
    Ok((layout, rows))
}

/// Types the records of decoded `text`, which starts on `first_line`.
#[allow(clippy::too_many_arguments)]
fn parse_records(
    path: &Path,
    text: &str,
    first_line: u64,
    layout: &CsvLayout,
    specs: &[ColumnSpec],
    keep: &[bool],
    units: &dyn UnitResolver,
) -> Result<BlockRows, LoadError> {
    // The quoting is checked as the records are split into grids, and
    // otherwise before they are typed one by one.
    let mut records = Records::new(text, first_line);
    type_records(
        path,
        text,
        first_line,
        &mut records,
        false,
        layout,
        specs,
        keep,
        units,
    )
}

/// Where a record is: its first line and its byte range.
#[derive(Debug, Clone, Copy)]
struct RecordAt {
    line: u64,
    start: usize,
    end: usize,
}

/// Splits decoded CSV text into records the way the csv crate does (a quote
/// opens a field only at its start, `""` inside quotes is a quote, text after a
/// closing quote is kept, CR, LF and CR LF end records, empty lines are not
/// records), giving fields as slices of the text: no copy and no second UTF-8
/// check. Quoting is checked before ([`check_quotes`]).
struct Records<'t> {
    text: &'t str,
    pos: usize,
    line: u64,
    /// Where the text's field ends and quotes are.
    marks: Marks,
    /// By position: whether a field's text is wanted (empty: all are). A field
    /// that is not is given as `""`: it is found, counted and its lines are
    /// counted, but a quoted one is not unescaped into a new string.
    wanted: Vec<bool>,
    /// The current record's quoted fields with `""` in them, unescaped.
    unescaped: Vec<String>,
}

/// A field of the current record: a slice of the text, or a quoted field with
/// `""` in it, unescaped (see [`Records::text_of`]). Copied freely: splitting
/// a record builds and drops no strings.
#[derive(Debug, Clone, Copy)]
enum Field<'t> {
    Slice(&'t str),
    /// Index into [`Records::unescaped`].
    Unescaped(usize),
}

impl<'t> Records<'t> {
    fn new(text: &'t str, first_line: u64) -> Self {
        Records {
            text,
            pos: 0,
            line: first_line,
            marks: Marks::new(text.as_bytes()),
            wanted: Vec::new(),
            unescaped: Vec::new(),
        }
    }

    /// Gives only the fields at `positions` (and the first, which tells a blank
    /// line from a record of one field) from now on.
    fn only(&mut self, positions: &[usize]) {
        let width = positions.iter().max().map_or(1, |m| m + 1);
        self.wanted = vec![false; width];
        for &p in positions.iter().chain([&0]) {
            if let Some(w) = self.wanted.get_mut(p) {
                *w = true;
            }
        }
    }

    /// The text of a field of the current record.
    fn text_of(&self, field: Field<'t>) -> &str {
        match field {
            Field::Slice(s) => s,
            Field::Unescaped(i) => self.unescaped.get(i).map_or("", String::as_str),
        }
    }

    /// The next record's fields (in `fields`) and where it is.
    fn next_record(&mut self, fields: &mut Vec<Field<'t>>) -> Option<RecordAt> {
        let text = self.text;
        let bytes = text.as_bytes();
        fields.clear();
        self.unescaped.clear();
        if !skip_empty_lines(bytes, &mut self.pos, &mut self.line) {
            return None;
        }
        let at = RecordAt {
            line: self.line,
            start: self.pos,
            end: self.pos,
        };
        let all_wanted = self.wanted.is_empty();
        let mut ends = self.marks.ends_from(self.pos);
        loop {
            let wanted = all_wanted || self.wanted.get(fields.len()).copied().unwrap_or(false);
            let found = scan_field(bytes, &self.marks, &mut ends, self.pos);
            self.line += found.lines;
            fields.push(if !wanted {
                Field::Slice("")
            } else if found.copied {
                self.unescaped.push(own_copy(text, &found));
                Field::Unescaped(self.unescaped.len() - 1)
            } else {
                Field::Slice(text.get(found.start..found.end).unwrap_or_default())
            });
            self.pos = found.next;
            if !past_field_end(bytes, &mut self.pos, &mut self.line) {
                break;
            }
        }
        Some(RecordAt {
            end: self.pos,
            ..at
        })
    }
}

/// A field found by [`scan_field`].
#[derive(Debug, Clone, Copy)]
struct FieldAt {
    /// The field's text, `start..end`: inside the quotes of a quoted field,
    /// which ends at its closing quote (at the end of the text if unclosed).
    start: usize,
    end: usize,
    /// Whether it starts with a quote.
    quoted: bool,
    /// A quoted field whose text is not that slice as it stands: `""` inside,
    /// or text after its closing quote (rejected before); see [`own_copy`].
    copied: bool,
    /// Where the field ends: at the comma or line end after it, or the end of
    /// the text.
    next: usize,
    /// Line breaks inside its quotes.
    lines: u64,
}

/// The field that starts at `pos`, by the csv crate's rules: a quote opens a
/// field only at its start, `""` inside quotes is a quote, text after a closing
/// quote is kept. Shared by the record splitter and the grid. Its end is the
/// next of `ends`, which are taken in order ([`Ends`]): `pos` never goes back.
#[inline(always)]
fn scan_field(bytes: &[u8], marks: &Marks, ends: &mut Ends<'_>, pos: usize) -> FieldAt {
    let len = bytes.len();
    if bytes.get(pos) != Some(&b'"') {
        let end = ends.next(pos).unwrap_or(len);
        return FieldAt {
            start: pos,
            end,
            quoted: false,
            copied: false,
            next: end,
            lines: 0,
        };
    }
    let mut escaped = false;
    let mut from = pos + 1;
    let close = loop {
        match marks.next_quote(from) {
            Some(c) if bytes.get(c + 1) == Some(&b'"') => {
                escaped = true;
                from = c + 2;
            }
            Some(c) => break c,
            // Unclosed (rejected before): the field runs to the end.
            None => break len,
        }
    };
    let after = (close + 1).min(len);
    let next = marks.next_end(after).unwrap_or(len);
    // The ends inside the quotes are passed over.
    ends.seek(next);
    FieldAt {
        start: pos + 1,
        end: close,
        quoted: true,
        copied: escaped || next != after,
        next,
        lines: super::line_breaks(bytes.get(pos..close).unwrap_or_default()),
    }
}

/// The text of a field [`FieldAt::copied`] marks: its `""` unescaped, then the
/// text after its closing quote ([`own_bytes`]). The text is cut only next to
/// ASCII quotes, so it stays UTF-8 (the lossy conversion never replaces).
fn own_copy(text: &str, field: &FieldAt) -> String {
    String::from_utf8(own_bytes(text.as_bytes(), field))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The bytes of a field [`FieldAt::copied`] marks: its `""` unescaped, then
/// the bytes after its closing quote. UTF-8 text or GBK bytes alike: a quote is
/// never part of a character of either.
fn own_bytes(bytes: &[u8], field: &FieldAt) -> Vec<u8> {
    let inner = bytes.get(field.start..field.end).unwrap_or_default();
    let mut own = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(q) = memchr::memchr(b'"', rest) {
        own.extend_from_slice(rest.get(..=q).unwrap_or_default());
        // `""` inside quotes is one quote.
        rest = rest.get(q + 2..).unwrap_or_default();
    }
    own.extend_from_slice(rest);
    let after = (field.end + 1).min(bytes.len());
    own.extend_from_slice(bytes.get(after..field.next).unwrap_or_default());
    own
}

/// Steps past the comma or line end at `pos` (CR, LF or CR LF, counted in
/// `line`); whether the record goes on with another field.
#[inline(always)]
fn past_field_end(bytes: &[u8], pos: &mut usize, line: &mut u64) -> bool {
    match bytes.get(*pos) {
        Some(b',') => {
            *pos += 1;
            true
        }
        Some(b'\r') => {
            *pos += 1;
            if bytes.get(*pos) == Some(&b'\n') {
                *pos += 1;
            }
            *line += 1;
            false
        }
        Some(b'\n') => {
            *pos += 1;
            *line += 1;
            false
        }
        _ => false,
    }
}

/// Steps past the empty lines at `pos` (they are not records), counting them in
/// `line`; whether a record starts there.
#[inline(always)]
fn skip_empty_lines(bytes: &[u8], pos: &mut usize, line: &mut u64) -> bool {
    loop {
        match bytes.get(*pos) {
            None => return false,
            Some(b'\r' | b'\n') => {
                past_field_end(bytes, pos, line);
            }
            Some(_) => return true,
        }
    }
}

/// Types the records `records` has left.
/// Column by column ([`type_by_columns`]) when every record has the header's
/// width, its quoting is right and every cell is good; otherwise record by
/// record, which reports the problems (the quoting first, unless
/// `quotes_checked` before).
#[allow(clippy::too_many_arguments)]
fn type_records<'t>(
    path: &Path,
    text: &'t str,
    first_line: u64,
    records: &mut Records<'t>,
    quotes_checked: bool,
    layout: &CsvLayout,
    specs: &[ColumnSpec],
    keep: &[bool],
    units: &dyn UnitResolver,
) -> Result<BlockRows, LoadError> {
    let width = layout.width;
    let guess = row_guess(text.len(), width);
    records.only(&layout.positions);
    let mut cells = CellSource::Utf8(text);
    if let Some(rows) = type_by_columns(
        &mut cells,
        &records.marks,
        (records.pos, records.line),
        layout,
        guess,
        units,
        &|rows| new_columns(specs, layout, keep, rows),
    ) {
        return Ok(rows);
    }
    if !quotes_checked {
        check_quotes(path, text.as_bytes(), &records.marks, first_line)?;
    }
    let mut columns = new_columns(specs, layout, keep, guess);
    let mut lines: Vec<u64> = Vec::with_capacity(guess);
    let mut errors = CellErrors::default();
    let mut fields = Vec::with_capacity(width);
    while let Some(record) = records.next_record(&mut fields) {
        if fields.len() != width {
            if is_blank(records, &fields) {
                continue;
            }
            return Err(ragged(
                path,
                text.as_bytes(),
                first_line,
                fields.len(),
                record,
                width,
            ));
        }
        for (column, &p) in columns.iter_mut().zip(&layout.positions) {
            let field = fields.get(p).map_or("", |&f| records.text_of(f));
            column.push_text(field, record.line, units, &mut errors);
        }
        lines.push(record.line);
    }
    Ok(BlockRows {
        columns: columns.into_iter().map(|c| c.data).collect(),
        lines,
        errors,
        // The records are done: every line break has been stepped over.
        end_line: records.line,
    })
}

/// The typed columns of a block's records, empty, with room for `rows`.
fn new_columns<'s>(
    specs: &'s [ColumnSpec],
    layout: &CsvLayout,
    keep: &[bool],
    rows: usize,
) -> Vec<Column<'s>> {
    let mut columns: Vec<Column<'s>> = specs
        .iter()
        .zip(&layout.positions)
        .enumerate()
        .map(|(i, (spec, &p))| {
            Column::new(spec, p as u64 + 1, false).keeping(keep.get(i).copied().unwrap_or(true))
        })
        .collect();
    for c in &mut columns {
        c.reserve(rows);
    }
    columns
}

/// Room for the records of a block of `len` bytes of `width` fields: as
/// many as records of 12 bytes a field would make, so that the columns of
/// most files are not regrown (which copies them). The room is reserved, not
/// written: memory a block's records do not fill is never touched.
fn row_guess(len: usize, width: usize) -> usize {
    len / (12 * width.max(1)) + 1
}

/// Types the records of a GBK block (not the first) from its bytes, without
/// decoding it whole: see [`gbk`]. `None`, with nothing reported, when the
/// block is not plain GBK, its quoting is wrong, a record has the wrong
/// number of fields or a cell is bad: the caller then decodes the block and
/// types it as before, which reports the problems.
fn type_gbk_block(
    block: &Block,
    first_line: u64,
    layout: &CsvLayout,
    specs: &[ColumnSpec],
    keep: &[bool],
    units: &dyn UnitResolver,
) -> Option<BlockRows> {
    let bytes = block.bytes.as_slice();
    let shadow = gbk::plain_shadow(bytes)?;
    // The grid checks the quoting.
    let marks = Marks::new(bytes);
    let mut cells = CellSource::Gbk {
        bytes,
        shadow: &shadow,
        decoded: gbk::CellDecoder::new(),
        column: Vec::new(),
    };
    type_by_columns(
        &mut cells,
        &marks,
        (0, first_line),
        layout,
        row_guess(bytes.len(), layout.width),
        units,
        &|rows| new_columns(specs, layout, keep, rows),
    )
}

/// Where the text of a block's cells comes from.
enum CellSource<'t> {
    /// UTF-8 text: a cell is a slice of it.
    Utf8(&'t str),
    /// Plain GBK bytes ([`gbk::is_plain`]): an ASCII cell is a slice of them,
    /// another is decoded on its own (once per distinct cell).
    Gbk {
        bytes: &'t [u8],
        /// [`gbk::plain_shadow`] of `bytes`.
        shadow: &'t str,
        decoded: gbk::CellDecoder<'t>,
        /// The cells of the column being typed.
        column: Vec<GbkCell<'t>>,
    },
}

/// What a GBK cell that is not blank is given as to a column that only
/// checks for blanks ([`Column::checks_only_blanks`]).
const NOT_BLANK: &str = "-";

/// Where the text of a cell of a GBK block is.
#[derive(Clone, Copy)]
enum GbkCell<'t> {
    /// An ASCII cell, as it stands.
    Ascii(&'t str),
    /// In the block's [`gbk::CellDecoder`].
    Decoded((u32, u32)),
    /// In the grid's [`Grid::owned`].
    Owned(usize),
}

impl CellSource<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            CellSource::Utf8(text) => text.as_bytes(),
            CellSource::Gbk { bytes, .. } => bytes,
        }
    }

    /// The text of a quoted field with `""` in it or text after its closing
    /// quote (see [`own_bytes`]); `None` when GBK bytes do not decode.
    fn own(&self, field: &FieldAt) -> Option<String> {
        match self {
            CellSource::Utf8(text) => Some(own_copy(text, field)),
            CellSource::Gbk { bytes, .. } => gbk::decode(&own_bytes(bytes, field)).ok(),
        }
    }
}

/// How many records are split into a [`Grid`] at a time before their columns
/// are typed: few enough that their cells are still in the processor's caches
/// when each column is read back.
const GRID_ROWS: usize = 256;

/// The cells of some of a block's records in the declared columns, found
/// before any is typed, so that each column can then be typed in one loop (see
/// [`type_by_columns`]).
struct Grid {
    /// The cells, column after column (declaration order), `rows` of each: a
    /// cell is the text `start..end` packed as `start | end << 32`, or, for a
    /// quoted field with `""` in it or text after its closing quote, [`OWNED`]
    /// with the index of its own copy in `owned` in the high half.
    cells: Vec<u64>,
    /// Room for records in each column of `cells`.
    rows: usize,
    /// The line each record starts on.
    lines: Vec<u64>,
    owned: Vec<String>,
    /// Where the next record is looked for, and its line.
    pos: usize,
    line: u64,
}

/// Marks a cell of [`Grid::cells`] as held in [`Grid::owned`].
const OWNED: u64 = u32::MAX as u64;

/// Marks a position of [`split_grid`]'s map as not declared.
const NOT_DECLARED: usize = usize::MAX;

impl Grid {
    /// An empty grid for `rows` records of `columns` declared columns, the
    /// first of them at `pos` on `line`.
    fn new(columns: usize, rows: usize, pos: usize, line: u64) -> Grid {
        Grid {
            cells: vec![0; columns * rows],
            rows,
            lines: Vec::with_capacity(rows),
            owned: Vec::new(),
            pos,
            line,
        }
    }

    /// The cells of the records split in the declared column `slot`.
    fn column(&self, slot: usize) -> &[u64] {
        let from = slot * self.rows;
        self.cells
            .get(from..from + self.lines.len())
            .unwrap_or_default()
    }

    /// The text of a cell.
    fn text<'g>(&'g self, text: &'g str, cell: u64) -> &'g str {
        let (low, high) = (cell & OWNED, (cell >> 32) as usize);
        if low == OWNED {
            return self.owned.get(high).map_or("", String::as_str);
        }
        text.get(low as usize..high).unwrap_or_default()
    }
}

/// Types the records from `(pos, line)` on column by column: splits them, a
/// few hundred at a time, into a [`Grid`], then types each declared column's
/// cells in one loop ([`Column::push_texts`]) rather than matching the
/// column's kind for every cell. `None`, with nothing reported, when a record
/// has the wrong number of fields or a cell is bad (or, in a GBK block, cannot
/// be decoded): the caller then types the block record by record, which finds
/// the same problems in file order. `rows`: about how many records there are.
fn type_by_columns<'t, 's>(
    source: &mut CellSource<'t>,
    marks: &Marks,
    (pos, line): (usize, u64),
    layout: &CsvLayout,
    rows: usize,
    units: &dyn UnitResolver,
    new_columns: &dyn Fn(usize) -> Vec<Column<'s>>,
) -> Option<BlockRows> {
    // Offsets are kept in 32 bits, below `OWNED`.
    if source.bytes().len() >= OWNED as usize {
        return None;
    }
    let stride = layout.positions.len();
    let mut slot_of = vec![NOT_DECLARED; layout.width];
    for (slot, &p) in layout.positions.iter().enumerate() {
        match slot_of.get_mut(p) {
            Some(s) if *s == NOT_DECLARED => *s = slot,
            // A file column declared twice: typed record by record.
            _ => return None,
        }
    }
    let mut columns = new_columns(rows);
    let mut lines = Vec::with_capacity(rows);
    let mut errors = CellErrors::default();
    let mut grid = Grid::new(stride, GRID_ROWS, pos, line);
    loop {
        let more = split_grid(
            source.bytes(),
            marks,
            &mut grid,
            layout.width,
            &slot_of,
            &mut |field| source.own(field),
        )?;
        for (slot, column) in columns.iter_mut().enumerate() {
            match source {
                CellSource::Utf8(text) => {
                    let mut cells = grid
                        .column(slot)
                        .iter()
                        .zip(&grid.lines)
                        .map(|(&cell, &line)| (grid.text(text, cell), line));
                    column.push_texts(&mut cells, units, &mut errors);
                }
                CellSource::Gbk {
                    bytes,
                    shadow,
                    decoded,
                    column: cells,
                } => {
                    cells.clear();
                    let blanks_only = column.checks_only_blanks();
                    for &cell in grid.column(slot) {
                        let (low, high) = (cell & OWNED, (cell >> 32) as usize);
                        cells.push(if low == OWNED {
                            GbkCell::Owned(high)
                        } else {
                            let raw = bytes.get(low as usize..high)?;
                            if raw.is_ascii() {
                                GbkCell::Ascii(shadow.get(low as usize..high)?)
                            } else if blanks_only {
                                // Not decoded: the column only asks whether it is blank.
                                GbkCell::Ascii(if gbk::is_blank(raw) { "" } else { NOT_BLANK })
                            } else {
                                GbkCell::Decoded(decoded.decode(raw)?)
                            }
                        });
                    }
                    let mut texts = cells.iter().zip(&grid.lines).map(|(&cell, &line)| {
                        let text = match cell {
                            GbkCell::Ascii(text) => text,
                            GbkCell::Decoded(at) => decoded.text(at),
                            GbkCell::Owned(i) => grid.owned.get(i).map_or("", String::as_str),
                        };
                        (text, line)
                    });
                    column.push_texts(&mut texts, units, &mut errors);
                }
            }
            if errors.total > 0 {
                return None;
            }
        }
        lines.extend_from_slice(&grid.lines);
        if !more {
            break;
        }
    }
    Some(BlockRows {
        columns: columns.into_iter().map(|c| c.data).collect(),
        lines,
        errors,
        // The last split stopped at the end of the text, past its line breaks.
        end_line: grid.line,
    })
}

/// Splits as many records as it has room for from where `grid` stands into it
/// (its previous records cleared), keeping the fields at the positions `slot_of`
/// maps to a declared column, by the same rules as [`Records::next_record`];
/// `own` gives the text of a quoted field with `""` in it or text after its
/// closing quote. Whether records may be left; `None` at the first record that
/// does not have `width` fields (a blank line among them), at a quoted field
/// that [`check_quotes`] rejects (not closed, or closed and followed by more
/// than spaces and tabs), or at a field `own` cannot give.
fn split_grid(
    bytes: &[u8],
    marks: &Marks,
    grid: &mut Grid,
    width: usize,
    slot_of: &[usize],
    own: &mut dyn FnMut(&FieldAt) -> Option<String>,
) -> Option<bool> {
    let rows = grid.rows;
    // A record of `width` fields writes the cell of every declared column.
    grid.lines.clear();
    grid.owned.clear();
    let (mut pos, mut line) = (grid.pos, grid.line);
    let pack = |start: usize, end: usize| start as u64 | (end as u64) << 32;
    let mut ends = marks.ends_from(pos);
    let more = loop {
        let row = grid.lines.len();
        if row == rows {
            break true;
        }
        if !skip_empty_lines(bytes, &mut pos, &mut line) {
            break false;
        }
        grid.lines.push(line);
        let mut field = 0;
        loop {
            let slot = slot_of.get(field).copied().unwrap_or(NOT_DECLARED);
            let found = scan_field(bytes, marks, &mut ends, pos);
            // Quoting `check_quotes` rejects: the record-by-record path reports it.
            if found.quoted
                && (found.end >= bytes.len()
                    || text_after_quote(bytes, found.end, found.next).is_some())
            {
                return None;
            }
            line += found.lines;
            if slot != NOT_DECLARED {
                let cell = if found.copied {
                    grid.owned.push(own(&found)?);
                    OWNED | ((grid.owned.len() - 1) as u64) << 32
                } else {
                    pack(found.start, found.end)
                };
                if let Some(c) = grid.cells.get_mut(slot * rows + row) {
                    *c = cell;
                }
            }
            field += 1;
            pos = found.next;
            if !past_field_end(bytes, &mut pos, &mut line) {
                break;
            }
        }
        if field != width {
            return None;
        }
    };
    grid.pos = pos;
    grid.line = line;
    Some(more)
}

/// Loads a whole CSV file into one table, read in blocks of `block_bytes`
/// ([`BLOCK_BYTES`] but in tests).
pub(crate) fn load(
    path: &Path,
    declared: Option<Encoding>,
    specs: &[ColumnSpec],
    units: &dyn UnitResolver,
    fingerprint: FingerprintKind,
    block_bytes: usize,
) -> Result<Table, LoadError> {
    // This thread may be long-lived (the watch's): it keeps no block buffers.
    let _release = super::spare::ReleaseOnDrop;
    let keep = vec![true; specs.len()];
    // The encoding is detected on a whole first block of the largest size.
    let first_bytes = if declared.is_some() {
        block_bytes
    } else {
        BLOCK_BYTES
    };
    let mut reader = CsvReader::open(
        path,
        declared,
        specs,
        &keep,
        units,
        first_bytes,
        fingerprint,
    )?;
    reader.set_block_bytes(block_bytes);
    let Some(first) = reader.first.take() else {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    };
    let mut table = Table {
        path: path.to_path_buf(),
        columns: first.columns,
        lines: first.lines,
        encoding: Some(reader.layout.encoding),
        hash: None,
        absent: false,
    };
    let mut errors = first.errors;
    let mut line = first.end_line;
    let parser = reader.parser();
    while let Some(block) = reader.next_block()? {
        let rows = parser.parse(&block, line, specs, &keep, units)?;
        errors.absorb(rows.errors);
        table.append(rows.columns, rows.lines);
        line = rows.end_line;
    }
    if errors.total > 0 {
        return Err(LoadError::BadCells {
            path: path.to_path_buf(),
            errors: errors.kept,
            total: errors.total,
        });
    }
    table.hash = reader.hash();
    Ok(table)
}

/// A record that is a whitespace-only line.
fn is_blank<'t>(records: &Records<'t>, fields: &[Field<'t>]) -> bool {
    match fields {
        [] => true,
        [only] => records.text_of(*only).trim().is_empty(),
        _ => false,
    }
}

fn ragged(
    path: &Path,
    text: &[u8],
    first_line: u64,
    n: usize,
    record: RecordAt,
    width: usize,
) -> LoadError {
    let (line, start, end) = (record.line, record.start, record.end);
    let last_line = first_line - 1 + line_of(text, end.saturating_sub(1).max(start));
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
fn check_quotes(path: &Path, text: &[u8], marks: &Marks, first_line: u64) -> Result<(), LoadError> {
    let Err(problem) = scan_quotes(text, marks) else {
        return Ok(());
    };
    let line_of = |text: &[u8], pos: usize| first_line - 1 + line_of(text, pos);
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
fn scan_quotes(text: &[u8], marks: &Marks) -> Result<(), QuoteProblem> {
    let mut pos = 0;
    while let Some(q) = marks.next_quote(pos) {
        let at_field_start = q == 0 || matches!(text.get(q - 1), Some(b',' | b'\n' | b'\r'));
        if !at_field_start {
            // A literal quote inside an unquoted field.
            pos = q + 1;
            continue;
        }
        // Inside a quoted field opened at `q`: find its closing quote.
        let mut p = q + 1;
        let close = loop {
            let Some(c) = marks.next_quote(p) else {
                return Err(QuoteProblem::Unclosed { open: q });
            };
            if text.get(c + 1) == Some(&b'"') {
                p = c + 2;
            } else {
                break c;
            }
        };
        // Where the field ends: the comma or line end after the quote.
        let next = marks.next_end(close + 1).unwrap_or(text.len());
        if let Some(at) = text_after_quote(text, close, next) {
            return Err(QuoteProblem::TextAfterQuote { open: q, at });
        }
        pos = next;
    }
    Ok(())
}

/// The first byte between the closing quote at `close` and the end of its
/// field at `next` that is not a space or a tab: text after the quote, which
/// the csv crate would silently keep. The rule of [`check_quotes`] and of the
/// grid ([`split_grid`]).
#[inline(always)]
fn text_after_quote(text: &[u8], close: usize, next: usize) -> Option<usize> {
    let after = text.get(close + 1..next).unwrap_or_default();
    let i = after.iter().position(|&b| b != b' ' && b != b'\t')?;
    Some(close + 1 + i)
}

/// The offset of the next `"` at or after `from`.
fn find_quote(text: &[u8], from: usize) -> Option<usize> {
    let hay = text.get(from..)?;
    memchr::memchr(b'"', hay).map(|i| from + i)
}

/// `bytes` as text when they are valid UTF-8 (checked with SIMD; the error
/// path, rare, goes through the standard library for the position).
fn as_utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(_) => std::str::from_utf8(bytes),
    }
}

/// Decodes a block of the file, which starts on `first_line`, to UTF-8:
/// returns the text (without BOM: only at the `file_start`) and the encoding
/// used with whether it was detected.
fn decode<'b>(
    path: &Path,
    bytes: &'b [u8],
    declared: Option<Encoding>,
    first_line: u64,
    file_start: bool,
) -> Result<(Cow<'b, str>, (Encoding, bool)), LoadError> {
    let line_of = |bytes: &[u8], pos: usize| first_line - 1 + line_of(bytes, pos);
    // Only the file's start may have a byte-order mark: a later block that
    // starts with one has a record starting with U+FEFF, kept as text.
    let bom = file_start && bytes.starts_with(UTF8_BOM);
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
        match as_utf8(body) {
            Ok(s) => Ok((Cow::Borrowed(s), (Encoding::Utf8, detected))),
            Err(e) => {
                let pos = e.valid_up_to() + if bom { UTF8_BOM.len() } else { 0 };
                let (message, hint) = if bom {
                    (
                        "line {line} has bytes that are not valid UTF-8, though the file starts with a UTF-8 byte-order mark",
                        "re-save the file as UTF-8",
                    )
                } else if gbk::decode(bytes).is_ok() {
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
        if let Ok(s) = as_utf8(bytes) {
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
        Some(Encoding::Gbk) => match gbk::decode(bytes) {
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
        None => match gbk::decode(bytes) {
            Ok(s) => Ok((Cow::Owned(s), (Encoding::Gbk, true))),
            Err(pos) => Err(neither(path, bytes, pos, first_line)),
        },
    }
}

/// The error of a file whose encoding was to be detected and is neither UTF-8
/// nor GBK, at `pos` of `bytes`, which start on `first_line`.
fn neither(path: &Path, bytes: &[u8], pos: usize, first_line: u64) -> LoadError {
    let line = first_line - 1 + line_of(bytes, pos);
    LoadError::Malformed {
        path: path.to_path_buf(),
        line,
        message: format!(
            "the file is neither UTF-8 nor GBK: line {line} has bytes that are not valid in either"
        ),
        hint: Some("re-save the file as UTF-8".to_string()),
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
    use ::csv::{ByteRecord, ReaderBuilder};

    fn scan_quotes(text: &[u8]) -> Result<(), QuoteProblem> {
        super::scan_quotes(text, &Marks::new(text))
    }

    /// A whole-table load of a file of large blocks leaves the thread no kept
    /// buffers (the watch's thread is long-lived), and neither does a failed one.
    #[test]
    fn loading_a_file_whole_keeps_no_block_buffers() {
        let specs = [ColumnSpec {
            name: "a".into(),
            header: "a".into(),
            ty: crate::data::ColumnType::Text,
            nullable: false,
        }];
        let dir = std::env::temp_dir().join(format!("hotline-spare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let good = dir.join("good.csv");
        let rows = "a\n".to_string() + &"一二三四五六七八九十\n".repeat(200_000);
        std::fs::write(&good, &rows).expect("write");
        let bad = dir.join("bad.csv");
        std::fs::write(&bad, rows.clone() + "x,y\n").expect("write");
        for (path, ok) in [(&good, true), (&bad, false)] {
            let loaded = load(
                path,
                Some(Encoding::Utf8),
                &specs,
                &crate::data::NoUnits,
                FingerprintKind::Sha256,
                BLOCK_BYTES,
            );
            assert_eq!(loaded.is_ok(), ok);
            assert_eq!(crate::data::spare::bytes().capacity(), 0);
            assert_eq!(crate::data::spare::words().capacity(), 0);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A block that leaves the column-by-column path after some of its grids
    /// were typed (a blank line, a bad cell, a ragged record far into it) is
    /// typed record by record from its start: the rows and the errors are those
    /// of a file without the problem, or name the problem's line.
    #[test]
    fn problems_after_typed_grids_are_found_record_by_record() {
        let specs = [
            ColumnSpec {
                name: "n".into(),
                header: "n".into(),
                ty: crate::data::ColumnType::Integer,
                nullable: false,
            },
            ColumnSpec {
                name: "t".into(),
                header: "t".into(),
                ty: crate::data::ColumnType::Text,
                nullable: true,
            },
        ];
        let dir = std::env::temp_dir().join(format!("hotline-grid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let rows: Vec<String> = (0..1000).map(|i| format!("{i},\"行,{i}\"\n")).collect();
        let write = |name: &str, at: usize, line: &str| {
            let mut text = "n,t\n".to_string();
            for (i, row) in rows.iter().enumerate() {
                if i == at {
                    text.push_str(line);
                }
                text.push_str(row);
            }
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        let load = |path: &Path| {
            load(
                path,
                Some(Encoding::Utf8),
                &specs,
                &crate::data::NoUnits,
                FingerprintKind::Sha256,
                BLOCK_BYTES,
            )
        };
        let clean = load(&write("clean.csv", usize::MAX, "")).expect("clean");
        assert_eq!(clean.lines.len(), 1000);
        // Line 2 + 700 is the 701st record's; a blank line before it moves it on.
        let blank = load(&write("blank.csv", 700, "   \n")).expect("blank");
        assert_eq!(blank.columns, clean.columns);
        assert_eq!(blank.lines[699], 701);
        assert_eq!(blank.lines[700], 703);
        match load(&write("bad.csv", 700, "x,y\n")) {
            Err(LoadError::BadCells { errors, total, .. }) => {
                assert_eq!(total, 1);
                assert_eq!(errors[0].line, 702);
            }
            other => panic!("{other:?}"),
        }
        match load(&write("ragged.csv", 900, "1,2,3\n")) {
            Err(LoadError::Malformed { line, .. }) => assert_eq!(line, 902),
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn record_boundaries() {
        assert_eq!(record_boundary(b"a,b\nc,d\ne"), Some(8));
        assert_eq!(record_boundary(b"a,\"b\nc\",d\ne"), Some(10));
        assert_eq!(record_boundary(b"a,b\nc,\"d\ne"), Some(4));
        assert_eq!(record_boundary(b"a,\"b\nc"), None);
        // A quote ending the bytes read may be the first of `""`: taken as closing
        // the field, it leaves nothing after it, so the cut is still before the field.
        assert_eq!(record_boundary(b"x\na,\"b\nc\""), Some(2));
        assert_eq!(record_boundary(b"x\na,\"b\nc\"\"d\"\n"), Some(13));
        // A literal quote inside an unquoted field opens nothing.
        assert_eq!(record_boundary(b"a,5\"\nb,c\n"), Some(9));
    }

    /// Every cut of the sample data, at every block size tried, is a record boundary.
    #[test]
    fn cuts_are_record_boundaries() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dong-e/2023-02/tickets.csv");
        let bytes = std::fs::read(path).expect("sample");
        let mut reader = ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&bytes[..]);
        let mut ends = std::collections::HashSet::new();
        let mut record = ByteRecord::new();
        while reader.read_byte_record(&mut record).expect("csv") {
            ends.insert(reader.position().byte() as usize);
        }
        for window in [300usize, 1000, 4096, 70_000] {
            let (mut start, mut cuts) = (0, 0);
            let mut size = window;
            while start + size < bytes.len() {
                match record_boundary(&bytes[start..start + size]) {
                    // The csv crate's record ends after the CR of a CRLF.
                    Some(cut) => {
                        let at = start + cut;
                        assert!(
                            ends.contains(&at) || ends.contains(&(at - 1)),
                            "cut at {at} (window {size} from {start})"
                        );
                        start = at;
                        size = window;
                        cuts += 1;
                    }
                    // No whole record yet: read more, as the reader does.
                    None => size *= 2,
                }
            }
            assert!(cuts > bytes.len() / window / 2, "{cuts} cuts of {window}");
        }
        // Every end of the bytes read inside the sample's records that hold line
        // feeds in a quoted field: the boundary is never one of those line feeds.
        let mut starts: Vec<usize> = ends.iter().copied().collect();
        starts.sort_unstable();
        let mut tried = 0;
        for triple in starts.windows(3) {
            let (before, from, to) = (triple[0], triple[1], triple[2]);
            let inside = &bytes[from..to];
            if !inside.contains(&b'"') || inside.iter().filter(|&&b| b == b'\n').count() < 2 {
                continue;
            }
            for end in from + 1..to {
                if let Some(cut) = record_boundary(&bytes[before..end]) {
                    let at = before + cut;
                    tried += 1;
                    assert!(
                        ends.contains(&at) || ends.contains(&(at - 1)),
                        "cut at {at} reading {before}..{end}"
                    );
                }
            }
        }
        assert!(tried > 1_000, "{tried}");
    }

    /// The record splitter agrees with the csv crate on every input whose
    /// quoting is accepted: random texts over the bytes that matter, and the samples.
    #[test]
    fn records_match_the_csv_crate() {
        fn with_csv(text: &str) -> Vec<Vec<String>> {
            let mut reader = ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut out = Vec::new();
            let mut record = ByteRecord::new();
            while reader.read_byte_record(&mut record).expect("csv") {
                out.push(
                    record
                        .iter()
                        .map(|f| String::from_utf8(f.to_vec()).expect("utf8"))
                        .collect(),
                );
            }
            out
        }
        fn with_splitter(text: &str) -> Vec<Vec<String>> {
            let mut records = Records::new(text, 1);
            let mut fields = Vec::new();
            let mut out = Vec::new();
            while records.next_record(&mut fields).is_some() {
                out.push(
                    fields
                        .iter()
                        .map(|&f| records.text_of(f).to_string())
                        .collect(),
                );
            }
            out
        }
        let alphabet = ["a", "中", ",", "\"", "\r", "\n", " ", "\r\n", "\"\""];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut tried = 0;
        for _ in 0..20_000 {
            let len = (state % 24) as usize;
            let mut text = String::new();
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            if scan_quotes(text.as_bytes()).is_err() {
                continue;
            }
            tried += 1;
            assert_eq!(with_splitter(&text), with_csv(&text), "{text:?}");
        }
        assert!(tried > 5_000, "{tried}");
        for month in ["2023-02", "2023-03"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/data/dong-e/{month}/tickets.csv"));
            let text = std::fs::read_to_string(path).expect("sample");
            assert_eq!(with_splitter(&text), with_csv(&text));
        }
    }

    /// The grid holds, record by record, the texts and lines the record splitter
    /// gives for the declared positions, in declaration order; it gives up at a
    /// record of another width (blank lines among them), where the splitter
    /// takes over.
    #[test]
    fn the_grid_splits_as_the_records_do() {
        let pieces = ["a", "中", " ", "\"\"", ",", "\r\n", "\n", "\r", ""];
        let ends = ["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"];
        let mut next = crate::data::test_random(0x9e37_79b9_7f4a_7c15u64);
        let width = 4;
        let positions = [2, 0, 3];
        let mut slot_of = vec![NOT_DECLARED; width];
        for (slot, &p) in positions.iter().enumerate() {
            slot_of[p] = slot;
        }
        let (mut compared, mut escaped) = (0, 0);
        for round in 0..3000 {
            let mut text = String::new();
            let records = 1 + next(6);
            for r in 0..records {
                for f in 0..width {
                    if f > 0 {
                        text.push(',');
                    }
                    let quoted = next(3) == 0;
                    let mut field = String::new();
                    for _ in 0..next(4) {
                        let piece = pieces[next(pieces.len())];
                        // Only a quoted field holds quotes, commas and line ends.
                        if quoted || !matches!(piece, "\"\"" | "," | "\r\n" | "\n" | "\r") {
                            field.push_str(piece);
                        }
                    }
                    if quoted {
                        text.push('"');
                        text.push_str(&field);
                        text.push('"');
                        // Spaces after the closing quote are allowed.
                        if next(5) == 0 {
                            text.push(' ');
                        }
                    } else {
                        text.push_str(&field);
                    }
                }
                if r + 1 < records || next(2) == 0 {
                    text.push_str(ends[next(ends.len())]);
                }
            }
            // Now and then a record of another width, or a blank line.
            let ragged = round % 7 == 0;
            if ragged {
                text.push_str(["\nx,y", "\n  \n", "\nonly"][round % 3]);
            }
            let mut records = Records::new(&text, 1);
            records.only(&positions);
            // Three records at a time, as `type_by_columns` goes.
            let mut grid = Grid::new(positions.len(), 3, 0, 1);
            let mut got: Option<Vec<(u64, Vec<String>)>> = Some(Vec::new());
            let mut escaped_here = false;
            while let Some(all) = got.as_mut() {
                let Some(more) = split_grid(
                    text.as_bytes(),
                    &records.marks,
                    &mut grid,
                    width,
                    &slot_of,
                    &mut |field| Some(own_copy(&text, field)),
                ) else {
                    got = None;
                    break;
                };
                escaped_here |= !grid.owned.is_empty();
                for (row, &line) in grid.lines.iter().enumerate() {
                    let texts = (0..positions.len())
                        .map(|slot| grid.text(&text, grid.column(slot)[row]).to_string());
                    all.push((line, texts.collect()));
                }
                if !more {
                    break;
                }
            }
            let mut fields = Vec::new();
            let mut expected = Vec::new();
            while let Some(at) = records.next_record(&mut fields) {
                let texts: Vec<String> = positions
                    .iter()
                    .map(|&p| {
                        fields
                            .get(p)
                            .map_or("", |&f| records.text_of(f))
                            .to_string()
                    })
                    .collect();
                expected.push((at.line, texts));
            }
            // Both count every line break of the text: the line after it is
            // where the next block's lines go on from (`BlockRows::end_line`).
            let end_line = 1 + crate::data::line_breaks(text.as_bytes());
            assert_eq!(records.line, end_line, "{text:?}");
            let Some(got) = got else {
                assert!(ragged, "{text:?}");
                continue;
            };
            assert!(!ragged, "{text:?}");
            assert_eq!(grid.line, end_line, "{text:?}");
            assert_eq!(got, expected, "{text:?}");
            compared += 1;
            escaped += usize::from(escaped_here);
        }
        assert!(compared > 2000 && escaped > 500, "{compared} {escaped}");
    }

    /// The grid checks the quoting as it splits: it goes through a text of
    /// records of the same width exactly when `check_quotes` accepts it
    /// (stray quotes inside unquoted fields, spaces after a closing quote),
    /// and gives up when it does not (text after a closing quote, a quote
    /// never closed), leaving the problem to the record-by-record path.
    #[test]
    fn the_grid_gives_up_exactly_where_the_quoting_is_rejected() {
        let fields = [
            "a",
            "中文",
            "a\"b",
            "\"q\"",
            "\"q,\r\n\"\"x\"\"\"",
            "\"q\" \t",
            "\"q\"x",
            "\"q\" 中",
            "\"\"",
            "",
        ];
        let mut next = crate::data::test_random(0x7f4a_7c15_9e37_79b9);
        let width = 3;
        let slot_of = [0, 1, 2];
        let (mut accepted, mut rejected) = (0, 0);
        for round in 0..3000 {
            let mut text = String::new();
            for _ in 0..1 + next(5) {
                for f in 0..width {
                    if f > 0 {
                        text.push(',');
                    }
                    // Rarely, an unclosed quote.
                    let field = if next(40) == 0 {
                        "\"open"
                    } else {
                        fields[next(fields.len())]
                    };
                    text.push_str(field);
                }
                text.push_str(["\n", "\r\n"][round % 2]);
            }
            let marks = Marks::new(text.as_bytes());
            let mut grid = Grid::new(width, 2, 0, 1);
            let through = loop {
                match split_grid(
                    text.as_bytes(),
                    &marks,
                    &mut grid,
                    width,
                    &slot_of,
                    &mut |field| Some(own_copy(&text, field)),
                ) {
                    None => break false,
                    Some(false) => break true,
                    Some(true) => {}
                }
            };
            let ok = scan_quotes(text.as_bytes()).is_ok();
            assert_eq!(through, ok, "{text:?}");
            if ok {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
        assert!(accepted > 200 && rejected > 1000, "{accepted} {rejected}");
    }

    #[test]
    fn fields_not_wanted_are_counted_but_not_copied() {
        // With only some positions wanted, every record has the same number of
        // fields on the same line; wanted fields (and the first) are as before,
        // the others empty.
        fn split(text: &str, only: Option<&[usize]>) -> Vec<(u64, Vec<String>)> {
            let mut records = Records::new(text, 1);
            if let Some(positions) = only {
                records.only(positions);
            }
            let mut fields = Vec::new();
            let mut out = Vec::new();
            while let Some(at) = records.next_record(&mut fields) {
                let texts = fields.iter().map(|&f| records.text_of(f).to_string());
                out.push((at.line, texts.collect()));
            }
            out
        }
        let text = "a,\"b\"\"1\"\"\",c,\"d\r\n2\",e\n\n\"x\"\"\"tail,y,\"z\nz\",w,v\r\nonly\n";
        let all = split(text, None);
        let some = split(text, Some(&[1, 3]));
        assert_eq!(all.len(), 3);
        assert_eq!(all.len(), some.len());
        for ((line_all, all), (line_some, some)) in all.iter().zip(&some) {
            assert_eq!(line_all, line_some);
            assert_eq!(all.len(), some.len());
            for (i, (a, s)) in all.iter().zip(some).enumerate() {
                let expected = if [0, 1, 3].contains(&i) {
                    a.as_str()
                } else {
                    ""
                };
                assert_eq!(s, expected, "field {i} of {all:?}");
            }
        }
        assert_eq!(some[0].1, ["a", "b\"1\"", "", "d\r\n2", ""]);
        assert_eq!(some[1].1, ["x\"tail", "y", "", "w", ""]);
        assert_eq!(some[2], (6, vec!["only".to_string()]));
    }

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
        let (encoded, _, _) = encoding_rs::GB18030.encode("工单\n编号");
        assert_eq!(gbk::decode(&encoded).as_deref(), Ok("工单\n编号"));
        let mut bad = encoded.to_vec();
        bad.extend_from_slice(b"\nx\xFF\xFFy");
        let pos = gbk::decode(&bad).unwrap_err();
        assert_eq!(&bad[pos..pos + 1], b"\xFF");
        assert_eq!(line_of(&bad, pos), 3);
    }
}

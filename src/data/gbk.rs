//! GBK text, decoded strictly (encoding_rs's GB18030 decoder, which reads GBK).
//!
//! The blocks of a GBK file after its first (which holds the header and is
//! decoded whole) are read without decoding them whole when they hold only
//! ASCII and two-byte characters ([`is_plain`], [`plain_shadow`]): their
//! bytes are split into records as they stand (`,`, `"`, CR and LF are never
//! part of a two-byte character: its second byte is 0x40 or above), and only
//! the cells of the declared columns that are not ASCII are decoded, each
//! distinct one once per block ([`CellDecoder`]). The columns no source
//! declares (the complaint texts) are checked but not decoded. Any other
//! block is decoded whole.

use encoding_rs::{DecoderResult, GB18030};
use wide::u8x16;

/// Decodes GB18030/GBK strictly; the error is the byte offset of the first
/// malformed sequence.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, usize> {
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

/// Whether `bytes` are only ASCII and two-byte GBK characters (a first byte
/// 0x81–0xFE, a second 0x40–0x7E or 0x80–0xFE), every one of which
/// [`decode`] accepts. Then a run of `bytes` that starts and ends next to an
/// ASCII delimiter holds whole characters, and decodes on its own to what it
/// is in the whole. Four-byte GB18030 sequences, the lone byte 0x80 (the euro
/// sign) and anything malformed make it false.
pub(crate) fn is_plain(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b < 0x80 {
            i += 1;
            continue;
        }
        if !(0x81..=0xFE).contains(&b) {
            return false;
        }
        match bytes.get(i + 1) {
            Some(&t) if (0x40..=0xFE).contains(&t) && t != 0x7F => i += 2,
            _ => return false,
        }
    }
    true
}

/// `bytes` with every byte that is not ASCII replaced by DEL (0x7F): the text
/// of a block's ASCII cells, sliced without checking each.
fn ascii_shadow(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.iter().map(|&b| b.min(0x7F)).collect()).ok()
}

/// The [`ascii_shadow`] of `bytes` when they are plain GBK ([`is_plain`]),
/// found for 64 bytes at a time with vector compares: see [`Runs`]. A block
/// with a 0x80 or 0xFF byte, or one this finds not plain, is looked at byte by
/// byte by [`is_plain`], which decides.
pub(crate) fn plain_shadow(bytes: &[u8]) -> Option<String> {
    match vector_shadow(bytes) {
        Some(shadow) => Some(shadow),
        None if is_plain(bytes) => ascii_shadow(bytes),
        None => None,
    }
}

/// The shadow of `bytes` when [`Runs`] finds them plain; `None` when they are
/// not, or have a 0x80 or 0xFF byte.
fn vector_shadow(bytes: &[u8]) -> Option<String> {
    let mut shadow = Vec::with_capacity(bytes.len() + 64);
    let mut runs = Runs::default();
    let (chunks, tail) = bytes.as_chunks::<64>();
    if !chunks.iter().all(|chunk| runs.next(chunk, &mut shadow)) {
        return None;
    }
    if !tail.is_empty() {
        // Zero bytes after the end: ASCII, and not a second byte.
        let mut padded = [0u8; 64];
        for (p, &b) in padded.iter_mut().zip(tail) {
            *p = b;
        }
        if !runs.next(&padded, &mut shadow) {
            return None;
        }
        shadow.truncate(bytes.len());
    }
    // A run of odd length at the very end lacks a second byte.
    if runs.odd != 0 {
        return None;
    }
    String::from_utf8(shadow).ok()
}

/// The runs of bytes of 0x80 and above, 64 bytes at a time.
///
/// A run of such bytes always starts a character: before it is an ASCII
/// character, or the ASCII second byte of a two-byte one. Without 0x80 and
/// 0xFF, any two bytes of a run are a character, so a run is plain GBK when it
/// has an even length, or when the byte after it is a second byte in
/// 0x40–0x7E. A run's end is found by adding its start bit to the bit set of
/// the high bytes: the carry runs to the first byte after the run. The length
/// is odd when start and end differ in parity.
#[derive(Default)]
struct Runs {
    /// Bit 0 set when a run goes on from the previous 64 bytes, having had an
    /// even number of bytes there (`even`) or an odd one (`odd`).
    even: u64,
    odd: u64,
}

impl Runs {
    /// Looks at the next 64 bytes, appending their shadow; whether they may be
    /// plain (a run left open at their end is judged with the next ones).
    #[inline(always)]
    fn next(&mut self, chunk: &[u8; 64], shadow: &mut Vec<u8>) -> bool {
        const EVEN: u64 = 0x5555_5555_5555_5555;
        const ODD: u64 = !EVEN;
        let (high_bytes, ff, x80, low, high_second) = (
            u8x16::splat(0x7F),
            u8x16::splat(0xFF),
            u8x16::splat(0x80),
            u8x16::splat(0x40),
            u8x16::splat(0x7E),
        );
        let (mut high, mut odd_bytes, mut second) = (0u64, 0u64, 0u64);
        let (parts, _) = chunk.as_chunks::<16>();
        for (i, part) in parts.iter().enumerate() {
            let v = u8x16::new(*part);
            let bits = |m: u8x16| u64::from(m.to_bitmask() as u16) << (16 * i);
            high |= bits(v);
            odd_bytes |= bits(v.simd_eq(ff) | v.simd_eq(x80));
            second |= bits(v.max(low).min(high_second).simd_eq(v));
            shadow.extend_from_slice(&v.min(high_bytes).to_array());
        }
        let starts = high & !(high << 1) & !(self.even | self.odd);
        let (from_even, over_even) = high.overflowing_add((starts & EVEN) | self.even);
        let (from_odd, over_odd) = high.overflowing_add((starts & ODD) | self.odd);
        let odd_ends = (from_even & !high & ODD) | (from_odd & !high & EVEN);
        self.even = u64::from(over_even);
        self.odd = u64::from(over_odd);
        odd_bytes == 0 && odd_ends & !second == 0
    }
}

/// Whether plain GBK `raw` (whole characters) is blank once trimmed: only
/// whitespace, which among two-byte GBK characters is U+3000 alone (A1A1 and
/// A3A0; a test checks every pair). A column that only checks its cells for
/// blanks needs no more than this.
pub(crate) fn is_blank(raw: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b < 0x80 {
            if !char::from(b).is_whitespace() {
                return false;
            }
            i += 1;
        } else if matches!(raw.get(i..i + 2), Some([0xA1, 0xA1] | [0xA3, 0xA0])) {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

/// The text of the cells of one block that are not ASCII, each distinct cell
/// decoded once (units, categories and labels repeat from record to record).
pub(crate) struct CellDecoder<'b> {
    /// The decoded cells, one after another.
    text: String,
    /// Where each distinct cell's text is in `text`.
    seen: foldhash::HashMap<&'b [u8], (u32, u32)>,
}

impl<'b> CellDecoder<'b> {
    pub fn new() -> Self {
        CellDecoder {
            text: String::new(),
            seen: foldhash::HashMap::default(),
        }
    }

    /// Where the text of `raw` (whole GBK characters) is, for [`Self::text`];
    /// decoded the first time it is seen. `None` when it is not valid GBK.
    pub fn decode(&mut self, raw: &'b [u8]) -> Option<(u32, u32)> {
        if let Some(&at) = self.seen.get(raw) {
            return Some(at);
        }
        let start = self.text.len();
        let mut decoder = GB18030.new_decoder_without_bom_handling();
        self.text
            .reserve(decoder.max_utf8_buffer_length_without_replacement(raw.len())?);
        let (result, read) =
            decoder.decode_to_string_without_replacement(raw, &mut self.text, true);
        if result != DecoderResult::InputEmpty || read != raw.len() {
            self.text.truncate(start);
            return None;
        }
        let at = (
            u32::try_from(start).ok()?,
            u32::try_from(self.text.len()).ok()?,
        );
        self.seen.insert(raw, at);
        Some(at)
    }

    /// The text [`Self::decode`] placed at `at`.
    pub fn text(&self, (start, end): (u32, u32)) -> &str {
        self.text
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every two-byte sequence [`is_plain`] lets through is a character the
    /// strict decoder accepts: the fast path never takes a block the decoder
    /// would reject.
    #[test]
    fn every_plain_pair_decodes() {
        let mut pairs = 0;
        for lead in 0x81..=0xFEu8 {
            for trail in (0x40..=0xFEu8).filter(|&t| t != 0x7F) {
                let pair = [lead, trail];
                assert!(is_plain(&pair), "{pair:02x?}");
                let text = decode(&pair).unwrap_or_else(|at| panic!("{pair:02x?} at {at}"));
                assert_eq!(text.chars().count(), 1, "{pair:02x?}");
                assert_eq!(is_blank(&pair), text.trim().is_empty(), "{pair:02x?}");
                pairs += 1;
            }
        }
        assert_eq!(pairs, 126 * 190);
        for b in 0..0x80u8 {
            let text = char::from(b).to_string();
            assert_eq!(is_blank(&[b]), text.trim().is_empty(), "{b:02x}");
        }
    }

    /// What is not ASCII or a two-byte character is not plain, though some of
    /// it decodes (the euro sign, four-byte sequences).
    #[test]
    fn other_sequences_are_not_plain() {
        for bytes in [
            &[0x80][..],                                       // the euro sign
            &[0xFF],                                           // never valid
            &[0x81],                                           // a first byte at the end
            &[0x81, 0x30, 0x81, 0x30],                         // a four-byte sequence (U+0080)
            &[0x81, 0x7F],                                     // a second byte out of range
            &[0x81, b','],                                     // a delimiter cannot end a character
            &[0xB9, 0xA4, 0xB5],                               // a character then half of one
            &[b'a', b'b', b'c', b'd', b'e', b'f', b'g', 0xB5], // after an ASCII run
        ] {
            assert!(!is_plain(bytes), "{bytes:02x?}");
        }
        assert!(is_plain(b""));
        assert!(is_plain(b"plain ASCII, longer than eight bytes\r\n"));
        let (gbk, _, _) = GB18030.encode("工单,\"编号\"\n满意度评分 100");
        assert!(is_plain(&gbk));
    }

    /// A xorshift generator of test inputs, from `state` (not zero).
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// Random bytes, biased towards GBK's ranges: whatever is plain decodes,
    /// and a cell cut at its ASCII delimiters decodes to its part of the whole.
    #[test]
    fn plain_bytes_decode_alone_as_in_the_whole() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d_u64);
        let mut plain = 0;
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => b",\"\nab"[(next() % 5) as usize],
                    1 => 0x81 + (next() % 0x7E) as u8,
                    _ => 0x40 + (next() % 0xC0) as u8,
                })
                .collect();
            if !is_plain(&bytes) {
                continue;
            }
            plain += 1;
            let whole = decode(&bytes).unwrap_or_else(|at| panic!("{bytes:02x?} at {at}"));
            let mut cells = CellDecoder::new();
            let decoded: Vec<String> = bytes
                .split(|b| matches!(b, b',' | b'"' | b'\n'))
                .map(|raw| {
                    let at = cells.decode(raw).unwrap_or_else(|| panic!("{raw:02x?}"));
                    let text = cells.text(at).to_string();
                    assert_eq!(is_blank(raw), text.trim().is_empty(), "{raw:02x?}");
                    text
                })
                .collect();
            let expected: Vec<&str> = whole.split([',', '"', '\n']).collect();
            assert_eq!(decoded, expected, "{bytes:02x?}");
        }
        assert!(plain > 2_000, "only {plain} plain inputs");
    }

    /// The vector check agrees with the byte-by-byte one on random bytes of
    /// every length around 64, with runs that cross the 64-byte steps, and
    /// its shadow is the bytes with the high ones replaced.
    #[test]
    fn the_vector_check_agrees_with_the_byte_check() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15_u64);
        let mut verdicts = [0usize; 2];
        let mut decided_alone = 0;
        for round in 0..40_000 {
            let len = (next() % 200) as usize;
            // Mostly two-byte characters, some ASCII, now and then a stray byte.
            let mut bytes = Vec::with_capacity(len + 1);
            while bytes.len() < len {
                match next() % 16 {
                    0 => bytes.push(b"a,\"\n"[(next() % 4) as usize]),
                    1 if round % 3 == 0 => {
                        bytes.push([0x80, 0xFF, 0x81, 0x40][(next() % 4) as usize])
                    }
                    2 => bytes.extend([0x81 + (next() % 0x7E) as u8, 0x40 + (next() % 0x3F) as u8]),
                    _ => bytes.extend([0xA1 + (next() % 0x5E) as u8, 0xA1 + (next() % 0x5E) as u8]),
                }
            }
            let plain = is_plain(&bytes);
            verdicts[usize::from(plain)] += 1;
            let shadow = plain_shadow(&bytes);
            assert_eq!(shadow.is_some(), plain, "{bytes:02x?}");
            // The vector check decides alone but for 0x80 and 0xFF.
            let decided = !bytes.iter().any(|&b| b == 0x80 || b == 0xFF);
            if decided {
                assert_eq!(vector_shadow(&bytes).is_some(), plain, "{bytes:02x?}");
                decided_alone += 1;
            }
            if let Some(shadow) = shadow {
                let expected: Vec<u8> = bytes
                    .iter()
                    .map(|&b| if b < 0x80 { b } else { 0x7F })
                    .collect();
                assert_eq!(shadow.as_bytes(), expected, "{bytes:02x?}");
            }
        }
        assert!(verdicts.iter().all(|&n| n > 5_000), "{verdicts:?}");
        assert!(decided_alone > 20_000, "{decided_alone}");
    }

    #[test]
    fn a_cell_is_decoded_once_and_bad_bytes_are_refused() {
        let (unit, _, _) = GB18030.encode("县公安局");
        let mut cells = CellDecoder::new();
        let first = cells.decode(&unit);
        assert_eq!(first.map(|at| cells.text(at)), Some("县公安局"));
        assert_eq!(cells.decode(&unit), first);
        assert_eq!(cells.text.len(), "县公安局".len());
        assert_eq!(cells.decode(&[0xB9, 0x2C]), None);
        assert_eq!(cells.text.len(), "县公安局".len());
    }
}

//! Where the bytes that shape CSV records are, found for a whole block at once.
//!
//! The record splitter needs, again and again, "the next `,`, CR or LF from
//! here" and "the next quote from here". Asking `memchr` for each field costs a
//! call and its set-up per field (about 18 fields of 20 bytes per ticket).
//! [`Marks`] instead finds them all in one pass over the block, 16 bytes at a
//! time with vector compares (the `wide` crate: safe SIMD, SSE2 on x86-64, plain
//! code elsewhere), and keeps them as bit sets; the next one is then a shift and
//! a count of trailing zeros.

use wide::u8x16;

/// Bit sets over a text, one bit per byte (64 bytes per word): where its
/// field and record ends (`,`, CR, LF) are, and where its quotes are.
#[derive(Debug, Clone)]
pub(crate) struct Marks {
    ends: Vec<u64>,
    quotes: Vec<u64>,
}

impl Marks {
    /// Marks the ends and quotes of `bytes`.
    pub fn new(bytes: &[u8]) -> Marks {
        let words = bytes.len().div_ceil(64);
        let zeroed = || {
            let mut w = super::spare::words();
            if w.capacity() < words {
                // New memory, asked for zeroed (fresh pages need not be written).
                return vec![0; words];
            }
            w.resize(words, 0);
            w
        };
        let (mut ends, mut quotes) = (zeroed(), zeroed());
        let (chunks, tail) = bytes.as_chunks::<64>();
        for ((chunk, e), q) in chunks.iter().zip(&mut ends).zip(&mut quotes) {
            (*e, *q) = mark(chunk);
        }
        if !tail.is_empty() {
            // Zero bytes are neither ends nor quotes.
            let mut padded = [0u8; 64];
            for (p, &b) in padded.iter_mut().zip(tail) {
                *p = b;
            }
            if let (Some(e), Some(q)) = (ends.last_mut(), quotes.last_mut()) {
                (*e, *q) = mark(&padded);
            }
        }
        Marks { ends, quotes }
    }

    /// The offset of the first `,`, CR or LF at or after `from`.
    pub fn next_end(&self, from: usize) -> Option<usize> {
        next_set(&self.ends, from)
    }

    /// The offset of the first `"` at or after `from`.
    pub fn next_quote(&self, from: usize) -> Option<usize> {
        next_set(&self.quotes, from)
    }

    /// The ends at or after `from`, to be taken in order ([`Ends::next`]).
    pub fn ends_from(&self, from: usize) -> Ends<'_> {
        let mut ends = Ends {
            words: &self.ends,
            at: 0,
            word: 0,
        };
        ends.seek(from);
        ends
    }
}

/// The ends of a text taken in order. A field mostly starts just after the end
/// of the one before, so its end is the next bit of the word at hand: no word
/// is looked up and masked again, as [`Marks::next_end`] does.
pub(crate) struct Ends<'m> {
    words: &'m [u64],
    /// The word at hand, and its bits not yet taken.
    at: usize,
    word: u64,
}

impl Ends<'_> {
    /// The first end at or after `from`, which is never before an end this
    /// gave or was moved to ([`Ends::seek`]).
    #[inline(always)]
    pub fn next(&mut self, from: usize) -> Option<usize> {
        loop {
            while self.word == 0 {
                self.at += 1;
                self.word = *self.words.get(self.at)?;
            }
            let end = self.at * 64 + self.word.trailing_zeros() as usize;
            self.word &= self.word - 1;
            // Ends passed over (the LF of a CR LF, blank lines) are dropped.
            if end >= from {
                return Some(end);
            }
        }
    }

    /// Moves to `from`: the ends before it are dropped.
    pub fn seek(&mut self, from: usize) {
        self.at = from / 64;
        self.word = self
            .words
            .get(self.at)
            .map_or(0, |w| w & (u64::MAX << (from % 64)));
    }
}

impl Drop for Marks {
    /// The bit sets go back to the thread, for the next block's marks.
    fn drop(&mut self) {
        super::spare::give_words(std::mem::take(&mut self.ends));
        super::spare::give_words(std::mem::take(&mut self.quotes));
    }
}

/// The ends and the quotes of 64 bytes, bit `i` for byte `i`.
#[inline(always)]
fn mark(chunk: &[u8; 64]) -> (u64, u64) {
    let (comma, cr, lf, quote) = (
        u8x16::splat(b','),
        u8x16::splat(b'\r'),
        u8x16::splat(b'\n'),
        u8x16::splat(b'"'),
    );
    let (parts, _) = chunk.as_chunks::<16>();
    let (mut ends, mut quotes) = (0u64, 0u64);
    for (i, part) in parts.iter().enumerate() {
        let v = u8x16::new(*part);
        let end = v.simd_eq(comma) | v.simd_eq(cr) | v.simd_eq(lf);
        // `to_bitmask` gives one bit per byte, in the low 16 bits.
        ends |= u64::from(end.to_bitmask() as u16) << (16 * i);
        quotes |= u64::from(v.simd_eq(quote).to_bitmask() as u16) << (16 * i);
    }
    (ends, quotes)
}

/// The first set bit at or after `from`.
#[inline]
fn next_set(words: &[u64], from: usize) -> Option<usize> {
    let mut at = from / 64;
    let mut word = words.get(at)? & (u64::MAX << (from % 64));
    loop {
        if word != 0 {
            return Some(at * 64 + word.trailing_zeros() as usize);
        }
        at += 1;
        word = *words.get(at)?;
    }
}

#[cfg(test)]
mod tests {
    use super::Marks;

    /// Every offset of texts of every length around the word size, against a
    /// byte-by-byte search.
    #[test]
    fn marks_find_what_a_byte_search_finds() {
        let alphabet = b"a,\"\r\n\xe4\xb8\xad\0 ";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in (0..200).chain([511, 512, 513, 4096 + 7]) {
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            let marks = Marks::new(&text);
            for from in 0..=len + 65 {
                let find = |wanted: &dyn Fn(u8) -> bool| {
                    text.iter()
                        .enumerate()
                        .skip(from)
                        .find(|(_, &b)| wanted(b))
                        .map(|(i, _)| i)
                };
                assert_eq!(
                    marks.next_end(from),
                    find(&|b| matches!(b, b',' | b'\r' | b'\n')),
                    "ends of {text:?} from {from}"
                );
                assert_eq!(
                    marks.next_quote(from),
                    find(&|b| b == b'"'),
                    "quotes of {text:?} from {from}"
                );
            }
        }
    }

    /// Ends taken in order from positions that only go forward, by small steps
    /// (the next field), steps over a CR LF and long jumps (a quoted field,
    /// with a seek or without), are those `next_end` finds.
    #[test]
    fn ends_in_order_are_those_found_from_each_position() {
        let alphabet = b"a,\"\r\n\xe4\xb8\xad ";
        let mut next = crate::data::test_random(0x2545_f491_4f6c_dd1d);
        let mut compared = 0;
        for round in 0..2000 {
            let len = next(300) + if round % 10 == 0 { 4000 } else { 0 };
            let text: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            let marks = Marks::new(&text);
            let mut from = next(len + 1);
            let mut ends = marks.ends_from(from);
            while from <= len + 1 {
                let expected = marks.next_end(from);
                assert_eq!(ends.next(from), expected, "{text:?} from {from}");
                compared += 1;
                let Some(end) = expected else { break };
                from = match next(4) {
                    0 => end + 1,
                    1 => end + 2,
                    2 => end + 1 + next(200),
                    _ => {
                        let to = end + 1 + next(200);
                        ends.seek(to);
                        to
                    }
                };
            }
        }
        assert!(compared > 10_000, "{compared}");
    }

    #[test]
    fn sparse_and_dense_marks() {
        let mut text = vec![b'x'; 1000];
        assert_eq!(Marks::new(&text).next_end(0), None);
        text[999] = b'\n';
        assert_eq!(Marks::new(&text).next_end(0), Some(999));
        assert_eq!(Marks::new(&text).next_end(999), Some(999));
        assert_eq!(Marks::new(&text).next_end(1000), None);
        let commas = vec![b','; 130];
        let marks = Marks::new(&commas);
        for from in 0..130 {
            assert_eq!(marks.next_end(from), Some(from));
            assert_eq!(marks.next_quote(from), None);
        }
        assert_eq!(Marks::new(b"").next_end(0), None);
    }
}

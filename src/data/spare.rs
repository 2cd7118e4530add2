//! Buffers a thread has finished with, kept for its next block.
//!
//! A worker reads a block into a buffer, types it and folds it, all on its own
//! thread, then reads the next one. Freeing a block's buffers and allocating
//! new ones for the next made the allocator give memory back to the system and
//! map it again, page by page (zeroed, one fault per 4 KB): at 1M tickets on two
//! cores, 64,000–81,000 page faults and a sixth of the run. Each thread keeps the
//! few buffers it is done with instead and takes them back for its next block.
//!
//! Only the buffers of large blocks are kept: they come from large files, cut
//! into many blocks. A small file is read in a few blocks a thread, which would
//! gain little, and its buffers are better freed for the rest of the run.

use std::cell::RefCell;

/// Buffers kept per thread and kind (a block's bytes and the leftover of the
/// next; two bit sets of marks).
const KEPT: usize = 2;

/// The size of the smallest block whose buffers are kept.
const KEPT_FROM_BLOCK_BYTES: usize = 1 << 20;

thread_local! {
    static BYTES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static WORDS: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
}

/// An empty byte buffer, one this thread gave back if it has one.
pub(crate) fn bytes() -> Vec<u8> {
    take(&BYTES)
}

/// Keeps `buffer` (emptied) for this thread's next [`bytes`], if it held a
/// large block.
pub(crate) fn give_bytes(buffer: Vec<u8>) {
    if buffer.capacity() >= KEPT_FROM_BLOCK_BYTES {
        give(&BYTES, buffer);
    }
}

/// An empty word buffer, one this thread gave back if it has one.
pub(crate) fn words() -> Vec<u64> {
    take(&WORDS)
}

/// Keeps `buffer` (emptied) for this thread's next [`words`], if it held the
/// marks of a large block (a bit a byte: 64 bytes a word).
pub(crate) fn give_words(buffer: Vec<u64>) {
    if buffer.capacity() * 64 >= KEPT_FROM_BLOCK_BYTES {
        give(&WORDS, buffer);
    }
}

/// Frees the buffers this thread keeps (when a month's reading is done, so
/// that a long-lived thread such as the watch's holds none between runs).
pub(crate) fn release() {
    let _ = BYTES.try_with(|b| b.try_borrow_mut().map(|mut b| b.clear()));
    let _ = WORDS.try_with(|w| w.try_borrow_mut().map(|mut w| w.clear()));
}

/// Calls [`release`] when dropped: for a reading that may end early.
pub(crate) struct ReleaseOnDrop;

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        release();
    }
}

/// Makes the system allocator keep the memory that the workers free at the
/// end of a block for the next, rather than give it back (done once a process).
///
/// glibc's malloc serves an allocation larger than its mmap threshold (128 KiB
/// at first) with a mapping of its own, unmapped when freed, and gives back
/// the free top of a heap larger than its trim threshold (twice that). Freeing
/// a mapped allocation raises the mmap threshold to its size, up to 32 MiB,
/// and the trim threshold to twice that (mallopt(3), on the dynamic mmap
/// threshold). A block's typed columns and the evaluation's vectors over its
/// rows are hundreds of KiB each and a few MiB in all: without this they were
/// mapped or given back and faulted in again at the next block. At 10M
/// tickets on two cores some runs had 20,000–160,000 page faults and took up
/// to a tenth longer; with it, every run has about 3,000, with the same peak
/// memory. The allocation is never written: it costs a map and an unmap,
/// and with another allocator it does nothing.
pub(crate) fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // `black_box`: an allocation that is never used may be left out.
        drop(std::hint::black_box(Vec::<u8>::with_capacity(16 << 20)));
    });
}

type Pool<T> = std::thread::LocalKey<RefCell<Vec<Vec<T>>>>;

fn take<T>(pool: &'static Pool<T>) -> Vec<T> {
    pool.try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.pop()))
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn give<T>(pool: &'static Pool<T>, mut buffer: Vec<T>) {
    if buffer.capacity() == 0 {
        return;
    }
    buffer.clear();
    // While the thread ends its locals may be gone: the buffer is then freed.
    let _ = pool.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if p.len() < KEPT {
                p.push(buffer);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_buffer_given_back_is_taken_again_on_the_same_thread_only() {
        super::release();
        let mut b = super::bytes();
        b.extend_from_slice(b"abc");
        b.reserve(1 << 20);
        // Small buffers are not kept.
        super::give_bytes(Vec::with_capacity(1000));
        assert_eq!(super::bytes().capacity(), 0);
        let address = b.as_ptr();
        super::give_bytes(b);
        // Another thread has its own.
        let other = std::thread::spawn(|| super::bytes().capacity())
            .join()
            .expect("thread");
        assert_eq!(other, 0);
        let again = super::bytes();
        assert_eq!(again.as_ptr(), address);
        assert!(again.is_empty() && again.capacity() >= 1 << 20);
        super::give_bytes(again);
        super::release();
        assert_eq!(super::bytes().capacity(), 0);
    }
}

//! The digests the report's footer shows for the policy and each data file, in
//! the hash the policy's `fingerprint` setting names.

use sha2::{Digest, Sha256};

use crate::ast::FingerprintKind;

/// A digest taken piece by piece (a CSV file is hashed block by block).
#[derive(Debug, Clone)]
pub(crate) enum FileHasher {
    Sha256(Sha256),
    Blake3(Box<blake3::Hasher>),
    /// `fingerprint none`: nothing is hashed.
    None,
}

impl FileHasher {
    /// A digest of nothing yet, in `kind`'s hash.
    pub fn new(kind: FingerprintKind) -> FileHasher {
        match kind {
            FingerprintKind::Sha256 => FileHasher::Sha256(Sha256::new()),
            FingerprintKind::Blake3 => FileHasher::Blake3(Box::default()),
            FingerprintKind::None => FileHasher::None,
        }
    }

    /// Adds the bytes that follow those added before.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            FileHasher::Sha256(h) => h.update(bytes),
            FileHasher::Blake3(h) => {
                h.update(bytes);
            }
            FileHasher::None => {}
        }
    }

    /// The first 12 hex digits of the digest of everything added (what
    /// `sha256sum` or `b3sum` shows), or `None` for `fingerprint none`.
    pub fn short(&self) -> Option<String> {
        let first = |bytes: &[u8]| bytes.iter().take(6).map(|b| format!("{b:02x}")).collect();
        match self {
            FileHasher::Sha256(h) => Some(first(h.clone().finalize().as_slice())),
            FileHasher::Blake3(h) => Some(first(h.finalize().as_bytes())),
            FileHasher::None => None,
        }
    }
}

/// The first 12 hex digits of the digest of `bytes` in `kind`'s hash, or
/// `None` for `fingerprint none`.
pub fn short_digest(kind: FingerprintKind, bytes: &[u8]) -> Option<String> {
    let mut hasher = FileHasher::new(kind);
    hasher.update(bytes);
    hasher.short()
}

#[cfg(test)]
mod tests {
    use super::{short_digest, FileHasher};
    use crate::ast::FingerprintKind;

    /// Published digests: SHA-256 of `abc` (FIPS 180-2); BLAKE3 of the empty
    /// input and of the one byte 0 (the BLAKE3 test vectors) and of `abc`
    /// (checked with the Python `blake3` package).
    #[test]
    fn digests_are_the_published_ones() {
        assert_eq!(
            short_digest(FingerprintKind::Sha256, b"abc").as_deref(),
            Some("ba7816bf8f01")
        );
        for (input, digest) in [
            (&b""[..], "af1349b9f5f9"),
            (&[0u8][..], "2d3adedff11b"),
            (&b"abc"[..], "6437b3ac3846"),
        ] {
            assert_eq!(
                short_digest(FingerprintKind::Blake3, input).as_deref(),
                Some(digest)
            );
        }
        assert_eq!(short_digest(FingerprintKind::None, b"abc"), None);
    }

    /// Pieces of any size give the digest of the whole, in both hashes.
    #[test]
    fn pieces_give_the_digest_of_the_whole() {
        let whole: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for kind in [FingerprintKind::Sha256, FingerprintKind::Blake3] {
            let mut hasher = FileHasher::new(kind);
            for piece in whole.chunks(65_537) {
                hasher.update(piece);
            }
            assert_eq!(hasher.short(), short_digest(kind, &whole), "{kind:?}");
        }
        assert_ne!(
            short_digest(FingerprintKind::Sha256, &whole),
            short_digest(FingerprintKind::Blake3, &whole)
        );
    }
}

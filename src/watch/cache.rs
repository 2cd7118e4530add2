//! Loaded tables, kept across rebuilds.
//!
//! A table is found again by its file's path, a hash of the file's bytes and a hash of how it
//! is read (file format, column specs and the policy's unit registry, which turns unit names
//! into indices). An edit of the policy that leaves a source's columns alone re-reads nothing;
//! an edit of a data file re-reads that file only.

use crate::ast::FingerprintKind;
use crate::data::{self, ColumnSpec, FileFormat, LoadError, Table, UnitResolver};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How many tables are kept: those of the current month and of a few recent versions of them.
const CAPACITY: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    content: u64,
    reading: u64,
}

#[derive(Debug)]
struct Entry {
    table: Arc<Table>,
    used: u64,
}

/// Tables by path, content and how they are read.
#[derive(Debug, Default)]
pub(crate) struct TableCache {
    entries: HashMap<Key, Entry>,
    clock: u64,
}

/// Whether a table came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Found in the cache: the file was hashed, not parsed.
    Cached,
    /// Parsed from the file.
    Read,
}

/// The hash of a file's bytes.
pub(crate) fn content_hash(bytes: &[u8]) -> u64 {
    // Fixed seed: the same bytes hash the same in every build. 64 bits, as SipHash
    // gave, at several times its speed on whole files.
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0).hash_one(bytes)
}

/// The hash of how a source is read: the format, the column specs, the unit registry and
/// the digest the footer shows.
pub(crate) fn reading_hash(
    format: &FileFormat,
    specs: &[ColumnSpec],
    units: &std::collections::HashMap<String, u32>,
    fingerprint: FingerprintKind,
) -> u64 {
    let mut hasher = DefaultHasher::new();
    fingerprint.hash(&mut hasher);
    // The specs have no `Hash`; their debug form names every field and type.
    format!("{format:?}").hash(&mut hasher);
    format!("{specs:?}").hash(&mut hasher);
    let mut registry: Vec<(&String, &u32)> = units.iter().collect();
    registry.sort();
    registry.hash(&mut hasher);
    hasher.finish()
}

impl TableCache {
    /// The table of `path`, from the cache when the file's bytes and the way it is read are
    /// unchanged, else loaded (and kept).
    pub(crate) fn get(
        &mut self,
        path: &Path,
        format: &FileFormat,
        specs: &[ColumnSpec],
        units: &dyn UnitResolver,
        fingerprint: FingerprintKind,
        reading: u64,
    ) -> Result<(Arc<Table>, Origin), LoadError> {
        self.clock += 1;
        let Ok(bytes) = std::fs::read(path) else {
            // Let the loader say what is wrong with the file.
            return data::load_table_with_fingerprint(path, format, specs, units, fingerprint)
                .map(|t| (Arc::new(t), Origin::Read));
        };
        let key = Key {
            path: path.to_path_buf(),
            content: content_hash(&bytes),
            reading,
        };
        drop(bytes);
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.used = self.clock;
            return Ok((entry.table.clone(), Origin::Cached));
        }
        let table = Arc::new(data::load_table_with_fingerprint(
            path,
            format,
            specs,
            units,
            fingerprint,
        )?);
        // The file may have changed between hashing and loading: keep the table only when
        // the bytes are still the ones hashed, so a key never names other content.
        let unchanged = std::fs::read(path).is_ok_and(|b| content_hash(&b) == key.content);
        if unchanged {
            self.entries.insert(
                key,
                Entry {
                    table: table.clone(),
                    used: self.clock,
                },
            );
            self.evict();
        }
        Ok((table, Origin::Read))
    }

    fn evict(&mut self) {
        while self.entries.len() > CAPACITY {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.entries.remove(&k);
                }
                None => break,
            }
        }
    }

    /// How many tables are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ColumnType, NoUnits};

    #[test]
    fn reloads_only_changed_content() {
        let dir = std::env::temp_dir().join(format!("hotline-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        std::fs::write(&path, "a\n1\n").unwrap();
        let specs = vec![ColumnSpec {
            name: "a".into(),
            header: "a".into(),
            ty: ColumnType::Integer,
            nullable: false,
        }];
        let format = FileFormat::Csv { encoding: None };
        let sha256 = FingerprintKind::Sha256;
        let reading = reading_hash(&format, &specs, &HashMap::new(), sha256);
        let mut cache = TableCache::default();
        let mut get = |kind: FingerprintKind, reading: u64| {
            cache
                .get(&path, &format, &specs, &NoUnits, kind, reading)
                .unwrap()
        };
        let (_, o1) = get(sha256, reading);
        let (_, o2) = get(sha256, reading);
        assert_eq!((o1, o2), (Origin::Read, Origin::Cached));
        std::fs::write(&path, "a\n2\n").unwrap();
        let (t, o3) = get(sha256, reading);
        assert_eq!(o3, Origin::Read);
        assert_eq!(
            t.columns[0],
            crate::data::ColumnData::Integer(vec![Some(2)])
        );
        // Back to the first content: found again.
        std::fs::write(&path, "a\n1\n").unwrap();
        let (_, o4) = get(sha256, reading);
        assert_eq!(o4, Origin::Cached);
        // Read differently: loaded again.
        let utf8 = FileFormat::Csv {
            encoding: Some(crate::data::Encoding::Utf8),
        };
        let other = reading_hash(&utf8, &specs, &HashMap::new(), sha256);
        let (_, o5) = get(sha256, other);
        assert_eq!(o5, Origin::Read);
        // Another digest for the footer: loaded again, with that digest.
        let blake3 = reading_hash(&format, &specs, &HashMap::new(), FingerprintKind::Blake3);
        let (t6, o6) = get(FingerprintKind::Blake3, blake3);
        assert_eq!(o6, Origin::Read);
        assert_eq!(
            t6.hash,
            crate::data::digest::short_digest(FingerprintKind::Blake3, b"a\n1\n")
        );
        assert_eq!(cache.len(), 4);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! The blob segments of schema 2 stores: large values (raw originals,
//! comments, alert contexts) in append-only files `blobs/NNNNNNNN.seg`,
//! each referred to from sled by a 21-byte [`BlobRef`]: `0xFF ++ segment
//! (u32 LE) ++ offset (u64 LE) ++ length (u32 LE) ++ crc32 (u32 LE)`.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// First byte of an encoded reference. No JSON text starts with it.
const TAG: u8 = 0xFF;
const ENCODED_LEN: usize = 21;

/// Where a value lives: segment, offset, length and checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobRef {
    segment: u32,
    offset: u64,
    len: u32,
    crc: u32,
}

impl BlobRef {
    /// A value that starts with a reference (a message record after its
    /// raw original's): the reference and the rest; `None` and the whole
    /// value when it does not start with one.
    pub fn split_prefix(value: &[u8]) -> (Option<BlobRef>, &[u8]) {
        match value.split_at_checked(ENCODED_LEN) {
            Some((head, rest)) if head[0] == TAG => (BlobRef::decode(head), rest),
            _ => (None, value),
        }
    }

    /// The reference `bytes` encode, if they are one.
    pub fn decode(bytes: &[u8]) -> Option<BlobRef> {
        if bytes.len() != ENCODED_LEN || bytes[0] != TAG {
            return None;
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]));
        Some(BlobRef {
            segment: u32_at(1),
            offset: u64::from_le_bytes(bytes[5..13].try_into().unwrap_or([0; 8])),
            len: u32_at(13),
            crc: u32_at(17),
        })
    }
}

/// Reads values from the segments of a `blobs/` folder.
pub struct BlobReader {
    dir: PathBuf,
}

impl BlobReader {
    /// A reader of the segments in `dir`.
    pub fn new(dir: &Path) -> BlobReader {
        BlobReader {
            dir: dir.to_path_buf(),
        }
    }

    /// The value `blob` refers to, checked against its CRC.
    pub fn read(&self, blob: &BlobRef) -> anyhow::Result<Vec<u8>> {
        let path = self.dir.join(format!("{:08}.seg", blob.segment));
        let file =
            std::fs::File::open(&path).with_context(|| format!("Opening {}", path.display()))?;
        let mut value = vec![0u8; blob.len as usize];
        file.read_exact_at(&mut value, blob.offset)
            .with_context(|| {
                format!(
                    "Reading {} bytes at {} of {}",
                    blob.len,
                    blob.offset,
                    path.display()
                )
            })?;
        anyhow::ensure!(
            crc32fast::hash(&value) == blob.crc,
            "The value at {} of {} is damaged (checksum mismatch)",
            blob.offset,
            path.display()
        );
        Ok(value)
    }

    /// Whether `blob` can be read back intact.
    pub fn is_intact(&self, blob: &BlobRef) -> bool {
        self.read(blob).is_ok()
    }
}

/// Writes segments as schema 2 stores did, for migration tests.
#[cfg(test)]
pub mod write_for_tests {
    use super::*;

    /// Appends `value` to segment 1 of `dir`; returns its encoded
    /// reference.
    pub fn append(dir: &Path, value: &[u8]) -> Vec<u8> {
        use std::io::Write;
        std::fs::create_dir_all(dir).expect("blob dir");
        let path = dir.join("00000001.seg");
        let offset = std::fs::metadata(&path).map_or(0, |m| m.len());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("segment");
        file.write_all(value).expect("append");
        let mut out = vec![TAG];
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(value).to_le_bytes());
        out
    }
}

//! Large immutable values (raw originals, comment texts, alert snapshots)
//! live outside sled, in append-only segment files `blobs/NNNNNNNN.seg`;
//! sled keeps a 21-byte [`BlobRef`] in their place.
//!
//! sled rewrites a whole node when it consolidates it, so kilobyte values
//! inside it are copied again and again; here each value is written once.
//! Appends are buffered and written out when their commit is (one write
//! per commit); [`BlobWriter::sync`] makes them durable and the store
//! calls it before syncing the journal that refers to them. A
//! reference carries its value's CRC, so a value lost to a power cut is
//! detected instead of read back as garbage.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;

/// First byte of an encoded reference. No JSON text starts with it.
const TAG: u8 = 0xFF;
const ENCODED_LEN: usize = 21;
/// A segment is closed once it holds this much.
const SEGMENT_BYTES: u64 = 256 << 20;

/// Where a value lives: segment, offset, length and checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BlobRef {
    segment: u32,
    offset: u64,
    len: u32,
    crc: u32,
}

impl BlobRef {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENCODED_LEN);
        out.push(TAG);
        out.extend_from_slice(&self.segment.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
        out
    }

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

fn segment_path(dir: &Path, segment: u32) -> PathBuf {
    dir.join(format!("{segment:08}.seg"))
}

/// Appends values to the newest segment. One per store, behind the
/// store's write lock.
pub(super) struct BlobWriter {
    dir: PathBuf,
    segment: u32,
    file: File,
    /// Segment length including `unwritten`.
    len: u64,
    unwritten: Vec<u8>,
}

impl BlobWriter {
    /// Opens the newest segment in `dir` for appending (creating `dir`).
    pub fn open(dir: &Path) -> anyhow::Result<BlobWriter> {
        super::create_private_dir(dir)
            .with_context(|| format!("Creating the blob directory {}", dir.display()))?;
        let newest = newest_segment(dir)?.unwrap_or(1);
        BlobWriter::open_segment(dir, newest)
    }

    fn open_segment(dir: &Path, segment: u32) -> anyhow::Result<BlobWriter> {
        let path = segment_path(dir, segment);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(super::permissions::FILE_MODE)
            .open(&path)
            .with_context(|| format!("Opening the blob segment {}", path.display()))?;
        let len = file.metadata()?.len();
        Ok(BlobWriter {
            dir: dir.to_path_buf(),
            segment,
            file,
            len,
            unwritten: Vec::new(),
        })
    }

    /// Appends `value` (in memory until [`BlobWriter::write_out`]) and
    /// returns its reference.
    pub fn append(&mut self, value: &[u8]) -> anyhow::Result<BlobRef> {
        if self.len > 0 && self.len + value.len() as u64 > SEGMENT_BYTES {
            self.sync()?;
            *self = BlobWriter::open_segment(&self.dir, self.segment + 1)?;
        }
        let len = u32::try_from(value.len()).context("A stored value over 4 GiB")?;
        self.unwritten.extend_from_slice(value);
        let blob = BlobRef {
            segment: self.segment,
            offset: self.len,
            len,
            crc: crc32fast::hash(value),
        };
        self.len += value.len() as u64;
        Ok(blob)
    }

    /// Writes appended values to the segment file (readable from then on,
    /// also by a restarted process).
    pub fn write_out(&mut self) -> anyhow::Result<()> {
        if self.unwritten.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(&self.unwritten) {
            // Later values must land where their references say: drop the
            // partial write and this commit's values.
            let written = self.len - self.unwritten.len() as u64;
            self.file.set_len(written).ok();
            self.discard_unwritten();
            return Err(e).with_context(|| {
                format!(
                    "Writing {}",
                    segment_path(&self.dir, self.segment).display()
                )
            });
        }
        self.unwritten.clear();
        Ok(())
    }

    /// Forgets values appended since the last write-out (their commit was
    /// abandoned).
    pub fn discard_unwritten(&mut self) {
        self.len -= self.unwritten.len() as u64;
        self.unwritten.clear();
    }

    /// Makes every appended value durable.
    pub fn sync(&mut self) -> anyhow::Result<()> {
        self.write_out()?;
        self.file.sync_data().with_context(|| {
            format!(
                "Syncing {}",
                segment_path(&self.dir, self.segment).display()
            )
        })
    }
}

fn newest_segment(dir: &Path) -> anyhow::Result<Option<u32>> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let number = name
            .to_str()
            .and_then(|n| n.strip_suffix(".seg"))
            .and_then(|n| n.parse::<u32>().ok());
        newest = newest.max(number);
    }
    Ok(newest)
}

/// Reads values back; shared by every reader.
pub(super) struct BlobReader {
    dir: PathBuf,
    files: Mutex<HashMap<u32, Arc<File>>>,
}

impl BlobReader {
    pub fn new(dir: &Path) -> BlobReader {
        BlobReader {
            dir: dir.to_path_buf(),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// The value `blob` refers to, checked against its CRC.
    pub fn read(&self, blob: &BlobRef) -> anyhow::Result<Vec<u8>> {
        let path = segment_path(&self.dir, blob.segment);
        let mut value = vec![0u8; blob.len as usize];
        self.file(blob.segment)?
            .read_exact_at(&mut value, blob.offset)
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

    fn file(&self, segment: u32) -> anyhow::Result<Arc<File>> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = files.get(&segment) {
            return Ok(file.clone());
        }
        let path = segment_path(&self.dir, segment);
        let file =
            Arc::new(File::open(&path).with_context(|| format!("Opening {}", path.display()))?);
        files.insert(segment, file.clone());
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_and_references_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BlobWriter::open(dir.path()).unwrap();
        let a = writer.append(b"first value").unwrap();
        writer.write_out().unwrap();
        let dropped = writer.append(b"abandoned").unwrap();
        writer.discard_unwritten();
        let b = writer.append(&[7u8; 5000]).unwrap();
        assert_eq!(b.offset, dropped.offset, "a discarded value leaves no gap");
        writer.sync().unwrap();
        let reader = BlobReader::new(dir.path());
        assert_eq!(reader.read(&a).unwrap(), b"first value");
        assert_eq!(reader.read(&b).unwrap(), vec![7u8; 5000]);
        assert_eq!(BlobRef::decode(&b.encode()), Some(b));
        assert_eq!(BlobRef::decode(b"{\"json\": true}"), None);
    }

    #[test]
    fn appends_continue_after_reopening_and_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let write = |value: &[u8]| {
            let mut writer = BlobWriter::open(dir.path()).unwrap();
            let blob = writer.append(value).unwrap();
            writer.write_out().unwrap();
            blob
        };
        let first = write(b"one");
        let second = write(b"two");
        let reader = BlobReader::new(dir.path());
        assert_eq!(reader.read(&first).unwrap(), b"one");
        assert_eq!(reader.read(&second).unwrap(), b"two");
        // A value that never reached the disk (a power cut) is not intact.
        let path = segment_path(dir.path(), 1);
        let file = OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(4).unwrap();
        assert!(reader.is_intact(&first));
        assert!(!reader.is_intact(&second));
        let message = format!("{:#}", reader.read(&second).unwrap_err());
        assert!(message.contains("00000001.seg"), "{message}");
    }
}

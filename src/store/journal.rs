//! The write-ahead journal: every committed write, appended as one
//! checksummed record, before any of it reaches sled.
//!
//! A record is `len (u32 LE) ++ crc32 (u32 LE) ++ ops`, each op
//! `tree (u8) ++ key len (u32 LE) ++ key ++ present (u8) [++ value len
//! (u32 LE) ++ value]`. A commit appends its record with one `write`, so a
//! killed process loses nothing it committed; [`Journal::sync`] makes the
//! records durable against power loss. sled only ever receives writes whose
//! record is already synced (see the store's flush), so after any crash
//! replaying the journal's records in order brings sled back to the last
//! commit; a torn or corrupt record (cut short by a crash) ends the replay.
//! The journal is a directory of numbered files: a full one is closed and
//! deleted once sled holds, durably, everything it records.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// One write: a put (`Some`) or a removal (`None`) of `key` in tree
/// number `tree`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Op {
    pub tree: u8,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// The journal being written: the newest file `NNNNNNNN.log` of its
/// directory. Older files wait until sled holds everything they record.
pub(super) struct Journal {
    dir: PathBuf,
    generation: u64,
    file: File,
    len: u64,
}

const HEADER: usize = 8;

/// Every complete record in the journal files of `dir`, oldest first, up
/// to the first torn or corrupt one.
pub(super) fn read_all(dir: &Path) -> anyhow::Result<Vec<Vec<Op>>> {
    let mut records = Vec::new();
    for generation in generations(dir)? {
        let path = file_path(dir, generation);
        let bytes = std::fs::read(&path).with_context(|| format!("Reading {}", path.display()))?;
        let (found, valid_len) = decode_records(&bytes);
        records.extend(found);
        if valid_len < bytes.len() {
            tracing::warn!(file = %path.display(), offset = valid_len, "store journal: a torn record ends the replay (a crash while writing it)");
            break;
        }
    }
    Ok(records)
}

/// Deletes every journal file of `dir` up to `generation`.
pub(super) fn remove_up_to(dir: &Path, generation: u64) -> anyhow::Result<()> {
    for old in generations(dir)?.into_iter().filter(|g| *g <= generation) {
        let path = file_path(dir, old);
        std::fs::remove_file(&path).with_context(|| format!("Removing {}", path.display()))?;
    }
    Ok(())
}

fn generations(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("Listing {}", dir.display()))? {
        let name = entry?.file_name();
        if let Some(n) = name.to_str().and_then(|n| n.strip_suffix(".log")) {
            found.extend(n.parse::<u64>().ok());
        }
    }
    found.sort_unstable();
    Ok(found)
}

fn file_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{generation:08}.log"))
}

impl Journal {
    /// Starts a new journal file in `dir` (creating `dir`), after any
    /// files already there.
    pub fn create(dir: &Path) -> anyhow::Result<Journal> {
        super::create_private_dir(dir)
            .with_context(|| format!("Creating the journal directory {}", dir.display()))?;
        let newest = generations(dir)?.last().copied().unwrap_or(0);
        Journal::open_generation(dir, newest + 1)
    }

    fn open_generation(dir: &Path, generation: u64) -> anyhow::Result<Journal> {
        let path = file_path(dir, generation);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(super::permissions::FILE_MODE)
            .open(&path)
            .with_context(|| format!("Creating the store journal {}", path.display()))?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            generation,
            len: file.metadata()?.len(),
            file,
        })
    }

    /// Appends one record (visible to a restart after a process crash;
    /// durable after [`Journal::sync`]).
    pub fn append(&mut self, ops: &[Op]) -> anyhow::Result<()> {
        let record = encode_record(ops);
        if let Err(e) = self.file.write_all(&record) {
            // A partial record would end every later replay early: cut it
            // off so the next commit starts on a record boundary.
            self.file.set_len(self.len).ok();
            return Err(e).with_context(|| {
                format!(
                    "Writing the store journal {}",
                    file_path(&self.dir, self.generation).display()
                )
            });
        }
        self.len += record.len() as u64;
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&self) -> anyhow::Result<()> {
        self.file.sync_data().with_context(|| {
            format!(
                "Syncing the store journal {}",
                file_path(&self.dir, self.generation).display()
            )
        })
    }

    /// Bytes in the current file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Continues in a new file; returns the generation of the old one
    /// (call after [`Journal::sync`]).
    pub fn rotate(&mut self) -> anyhow::Result<u64> {
        let old = self.generation;
        *self = Journal::open_generation(&self.dir, old + 1)?;
        Ok(old)
    }

    /// The current file's generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

fn encode_record(ops: &[Op]) -> Vec<u8> {
    let size: usize = ops
        .iter()
        .map(|op| 10 + op.key.len() + op.value.as_ref().map_or(0, Vec::len))
        .sum();
    let mut record = Vec::with_capacity(HEADER + size);
    record.extend_from_slice(&[0; HEADER]);
    for op in ops {
        record.push(op.tree);
        put_bytes(&mut record, &op.key);
        match &op.value {
            Some(value) => {
                record.push(1);
                put_bytes(&mut record, value);
            }
            None => record.push(0),
        }
    }
    let body_len = (record.len() - HEADER) as u32;
    let crc = crc32fast::hash(&record[HEADER..]);
    record[..4].copy_from_slice(&body_len.to_le_bytes());
    record[4..HEADER].copy_from_slice(&crc.to_le_bytes());
    record
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Complete records at the start of `bytes`, and how many bytes they take.
fn decode_records(bytes: &[u8]) -> (Vec<Vec<Op>>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some((ops, next)) = decode_record(bytes, at) {
        records.push(ops);
        at = next;
    }
    (records, at)
}

fn decode_record(bytes: &[u8], at: usize) -> Option<(Vec<Op>, usize)> {
    let len = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(at + 4..at + HEADER)?.try_into().ok()?);
    let body = bytes.get(at + HEADER..at + HEADER + len)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    Some((decode_ops(body)?, at + HEADER + len))
}

fn decode_ops(mut body: &[u8]) -> Option<Vec<Op>> {
    let mut ops = Vec::new();
    while let Some((&tree, rest)) = body.split_first() {
        let (key, rest) = take_bytes(rest)?;
        let (&present, rest) = rest.split_first()?;
        let (value, rest) = match present {
            1 => take_bytes(rest).map(|(v, r)| (Some(v.to_vec()), r))?,
            _ => (None, rest),
        };
        ops.push(Op {
            tree,
            key: key.to_vec(),
            value,
        });
        body = rest;
    }
    Some(ops)
}

fn take_bytes(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let value = bytes.get(4..4 + len)?;
    Some((value, &bytes[4 + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(tree: u8, key: &str, value: Option<&str>) -> Op {
        Op {
            tree,
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn records_come_back_in_order_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = vec![op(1, "a", Some("1")), op(2, "b", None)];
        let second = vec![op(3, "", Some(""))];
        let third = vec![op(4, "c", Some("3"))];
        let mut journal = Journal::create(dir.path()).unwrap();
        journal.append(&first).unwrap();
        journal.append(&second).unwrap();
        journal.sync().unwrap();
        assert_eq!(journal.rotate().unwrap(), 1);
        journal.append(&third).unwrap();
        drop(journal);
        let all = read_all(dir.path()).unwrap();
        assert_eq!(all, vec![first, second, third.clone()]);
        remove_up_to(dir.path(), 1).unwrap();
        assert_eq!(read_all(dir.path()).unwrap(), vec![third]);
        assert_eq!(Journal::create(dir.path()).unwrap().generation(), 3);
    }

    #[test]
    fn a_torn_or_corrupt_record_ends_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let kept = vec![op(1, "kept", Some("yes"))];
        let mut journal = Journal::create(dir.path()).unwrap();
        journal.append(&kept).unwrap();
        let good_len = journal.len();
        journal.append(&[op(1, "torn", Some("no"))]).unwrap();
        journal.rotate().unwrap();
        journal.append(&[op(1, "after", Some("no"))]).unwrap();
        drop(journal);
        // Cut the second record short, as a crash mid-write would: the
        // replay ends there, the newer file included.
        let path = file_path(dir.path(), 1);
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(good_len + 5).unwrap();
        assert_eq!(read_all(dir.path()).unwrap(), vec![kept.clone()]);
        // A flipped byte does the same.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(good_len as usize);
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_all(dir.path()).unwrap().is_empty());
    }
}

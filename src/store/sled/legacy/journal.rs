//! The journal of schema 2 stores: a directory of numbered files
//! `NNNNNNNN.log`, each a run of records `len (u32 LE) ++ crc32 (u32 LE)
//! ++ ops`, each op `tree (u8) ++ key len (u32 LE) ++ key ++ present (u8)
//! [++ value len (u32 LE) ++ value]`. A torn or corrupt record (a crash
//! while writing it) ends the records.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// One write of a record: a put (`Some`) or removal (`None`) of `key` in
/// tree number `tree` (see [`super::TREE_NAMES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub tree: u8,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

const HEADER: usize = 8;

/// Every complete record in the journal files of `dir`, oldest first, up
/// to the first torn or corrupt one; none when `dir` does not exist.
pub fn read_all(dir: &Path) -> anyhow::Result<Vec<Vec<Op>>> {
    let mut records = Vec::new();
    if !dir.is_dir() {
        return Ok(records);
    }
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

/// Writes journal files as schema 2 stores did, for migration tests.
#[cfg(test)]
pub mod write_for_tests {
    use super::*;

    /// Appends `records` to journal file number `generation` in `dir`.
    pub fn write(dir: &Path, generation: u64, records: &[Vec<Op>]) {
        std::fs::create_dir_all(dir).expect("journal dir");
        let mut bytes = Vec::new();
        for ops in records {
            bytes.extend(encode_record(ops));
        }
        std::fs::write(file_path(dir, generation), bytes).expect("journal file");
    }

    fn encode_record(ops: &[Op]) -> Vec<u8> {
        let mut record = vec![0; HEADER];
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
}

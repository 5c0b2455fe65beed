//! The item store's durability: an append-only log of item writes, one JSON line per mutation
//! written with one write(2) before the answer leaves (so an acknowledged write survives a crash of
//! the process), in numbered segments; and a snapshot that covers every segment up to a number, after
//! which those segments are deleted. A start reads the snapshot, then the later segments in order.
//!
//! Every record carries a whole item image (or a key to delete, or a table to drop), so replaying a
//! record that the snapshot already holds changes nothing: the snapshot may be taken while writes go
//! on.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use serde_json::Value;

/// Log entries between snapshots: a snapshot costs in proportion to the whole store, so it is
/// taken rarely; replay of 20,000 small records takes a fraction of a second.
pub(crate) const SNAPSHOT_EVERY: u64 = 20_000;

const SNAPSHOT: &str = "snapshot.jsonl";

struct Segment {
    number: u64,
    file: File,
    entries: u64,
}

/// The log and its snapshot under one folder.
pub(crate) struct Wal {
    dir: PathBuf,
    current: Mutex<Segment>,
    /// A snapshot is being written (another is not started meanwhile).
    pub(crate) snapshotting: AtomicBool,
    appended: AtomicU64,
    snapshots: AtomicU64,
    replayed: u64,
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("wal-{n:010}.jsonl"))
}

fn segments(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name.strip_prefix("wal-").and_then(|r| r.strip_suffix(".jsonl")) {
            if let Ok(n) = n.parse() {
                found.push(n);
            }
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Reads a file of JSON lines; a torn last line (a crash mid-write) is skipped.
fn read_lines(path: &Path, out: &mut Vec<Value>) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    for line in BufReader::new(file).lines() {
        let line = line?;
        if let Ok(v) = serde_json::from_str(&line) {
            out.push(v);
        }
    }
    Ok(())
}

fn open_segment(dir: &Path, number: u64) -> anyhow::Result<Segment> {
    let path = segment_path(dir, number);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Segment {
        number,
        file,
        entries: 0,
    })
}

impl Wal {
    /// Opens the log under `dir` and returns the records to replay, oldest first (the snapshot's,
    /// then the segments' after it). New writes go to a new segment.
    pub(crate) fn open(dir: &Path) -> anyhow::Result<(Wal, Vec<Value>)> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut records = Vec::new();
        let mut covers = 0;
        let snapshot = dir.join(SNAPSHOT);
        if snapshot.exists() {
            read_lines(&snapshot, &mut records)?;
            if let Some(head) = records.first() {
                covers = head["covers"].as_u64().unwrap_or(0);
            }
        }
        let existing = segments(dir)?;
        for &n in existing.iter().filter(|n| **n > covers) {
            read_lines(&segment_path(dir, n), &mut records)?;
        }
        let next = existing.last().copied().unwrap_or(0).max(covers) + 1;
        let replayed = records.len() as u64;
        let wal = Wal {
            dir: dir.to_path_buf(),
            current: Mutex::new(open_segment(dir, next)?),
            snapshotting: AtomicBool::new(false),
            appended: AtomicU64::new(0),
            snapshots: AtomicU64::new(0),
            replayed,
        };
        Ok((wal, records))
    }

    /// Appends one record with one write(2); true when a snapshot is due.
    pub(crate) fn append(&self, record: &Value) -> std::io::Result<bool> {
        let mut line = serde_json::to_vec(record).expect("a JSON value serialises");
        line.push(b'\n');
        let mut seg = self.current.lock().expect("wal lock");
        seg.file.write_all(&line)?;
        seg.entries += 1;
        self.appended.fetch_add(1, Ordering::Relaxed);
        Ok(seg.entries >= SNAPSHOT_EVERY && !self.snapshotting.load(Ordering::Relaxed))
    }

    /// Starts a new segment; returns the number of the last one a snapshot taken from now covers.
    pub(crate) fn rotate(&self) -> anyhow::Result<u64> {
        let mut seg = self.current.lock().expect("wal lock");
        let covered = seg.number;
        *seg = open_segment(&self.dir, covered + 1)?;
        Ok(covered)
    }

    /// Writes a snapshot that covers the segments up to `covers` (its records, in order), then
    /// deletes those segments.
    pub(crate) fn write_snapshot(&self, covers: u64, records: &[Vec<u8>]) -> anyhow::Result<()> {
        let tmp = self.dir.join("snapshot.jsonl.tmp");
        {
            let mut out = std::io::BufWriter::new(File::create(&tmp)?);
            out.write_all(
                serde_json::json!({"op": "snapshot", "covers": covers}).to_string().as_bytes(),
            )?;
            out.write_all(b"\n")?;
            for r in records {
                out.write_all(r)?;
                out.write_all(b"\n")?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        std::fs::rename(&tmp, self.dir.join(SNAPSHOT))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        for n in segments(&self.dir)?.into_iter().filter(|n| *n <= covers) {
            let _ = std::fs::remove_file(segment_path(&self.dir, n));
        }
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Deletes everything on disk and starts an empty log (`lab local reset`).
    pub(crate) fn clear(&self) -> anyhow::Result<()> {
        let mut seg = self.current.lock().expect("wal lock");
        let next = seg.number + 1;
        for n in segments(&self.dir)? {
            let _ = std::fs::remove_file(segment_path(&self.dir, n));
        }
        let _ = std::fs::remove_file(self.dir.join(SNAPSHOT));
        *seg = open_segment(&self.dir, next)?;
        Ok(())
    }

    /// The figures `lab local status` shows.
    pub(crate) fn status(&self) -> Value {
        let seg = self.current.lock().expect("wal lock");
        serde_json::json!({
            "dir": self.dir.display().to_string(),
            "segment": seg.number,
            "entries_in_segment": seg.entries,
            "appended": self.appended.load(Ordering::Relaxed),
            "snapshots": self.snapshots.load(Ordering::Relaxed),
            "replayed_at_start": self.replayed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_survive_reopen_and_snapshots_cover_segments() {
        let dir = std::env::temp_dir().join(format!("lab-wal-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (wal, records) = Wal::open(&dir).unwrap();
        assert!(records.is_empty());
        wal.append(&json!({"op": "put", "n": 1})).unwrap();
        let covers = wal.rotate().unwrap();
        wal.append(&json!({"op": "put", "n": 2})).unwrap();
        wal.write_snapshot(covers, &[br#"{"op":"put","n":1}"#.to_vec()]).unwrap();
        drop(wal);
        // A torn last line, as a crash mid-write leaves it.
        let last = segments(&dir).unwrap().into_iter().max().unwrap();
        let mut f = OpenOptions::new().append(true).open(segment_path(&dir, last)).unwrap();
        f.write_all(b"{\"op\": \"pu").unwrap();
        let (_, records) = Wal::open(&dir).unwrap();
        let ns: Vec<_> = records.iter().filter_map(|r| r["n"].as_u64()).collect();
        assert_eq!(ns, [1, 2]);
        assert_eq!(records[0]["op"], "snapshot");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

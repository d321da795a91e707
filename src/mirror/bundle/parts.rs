//! A bundle on disk: one file, or numbered parts of at most `--split SIZE`
//! bytes (`FILE.001`, `FILE.002`, …) for media and transfer portals with a
//! size limit. The parts are plain slices of one tar stream: the writer cuts
//! it, the reader joins them again and can say in which part a byte was.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Where the bundle at `out` goes: the file itself, or its parts.
pub struct PartWriter {
    out: PathBuf,
    limit: Option<u64>,
    current: Option<BufWriter<File>>,
    in_part: u64,
    /// Every file written so far, in order.
    pub written: Vec<PathBuf>,
}

/// The name of part `n` (1-based) of the bundle `out`.
pub fn part_name(out: &Path, n: usize) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(format!(".{n:03}"));
    PathBuf::from(name)
}

impl PartWriter {
    /// A writer of `out`, cut every `limit` bytes when given.
    pub fn new(out: &Path, limit: Option<u64>) -> PartWriter {
        PartWriter {
            out: out.to_path_buf(),
            limit,
            current: None,
            in_part: 0,
            written: Vec::new(),
        }
    }

    fn next_part(&mut self) -> io::Result<()> {
        if let Some(mut done) = self.current.take() {
            done.flush()?;
            done.get_ref().sync_all()?;
        }
        let path = match self.limit {
            Some(_) => part_name(&self.out, self.written.len() + 1),
            None => self.out.clone(),
        };
        // Large writes: the default 8 KiB buffer would make one system
        // call per 8 KiB of the bundle.
        self.current = Some(BufWriter::with_capacity(
            crate::mirror::hash::BUFFER,
            File::create(&path)?,
        ));
        self.written.push(path);
        self.in_part = 0;
        Ok(())
    }

    /// Flushes and syncs the last part; returns the files written.
    pub fn finish(mut self) -> io::Result<Vec<PathBuf>> {
        if let Some(mut done) = self.current.take() {
            done.flush()?;
            done.get_ref().sync_all()?;
        }
        Ok(std::mem::take(&mut self.written))
    }
}

impl Write for PartWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let full = self.limit.is_some_and(|limit| self.in_part >= limit);
        if self.current.is_none() || full {
            self.next_part()?;
        }
        let room = self
            .limit
            .map_or(buf.len() as u64, |limit| limit - self.in_part);
        let n = (buf.len() as u64).min(room) as usize;
        let n = self
            .current
            .as_mut()
            .expect("a part is open")
            .write(&buf[..n])?;
        self.in_part += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.current.as_mut().map_or(Ok(()), |c| c.flush())
    }
}

/// The parts given to `import`, checked and joined into one stream.
pub struct PartReader {
    map: PartMap,
    index: usize,
    file: Option<File>,
}

/// Where the stream's bytes come from, to name the part a damage is in;
/// it follows the reader after the reader is handed to the tar parser.
#[derive(Clone)]
pub struct PartMap {
    parts: Vec<(PathBuf, u64)>,
    position: Rc<Cell<u64>>,
}

/// Why the given parts cannot make a bundle.
#[derive(Debug, thiserror::Error)]
pub enum PartsError {
    /// A file cannot be opened.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The part.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// A numbered part is missing from the list.
    #[error(
        "part {missing} is missing: the parts given are {given}; pass every part, in any order"
    )]
    Missing {
        /// The part name expected.
        missing: String,
        /// What was given.
        given: String,
    },
    /// A part that is not the last is shorter than the first.
    #[error(
        "part {path} is {size} bytes, shorter than part 1 ({first} bytes): it was truncated on the way; copy it again"
    )]
    Truncated {
        /// The part.
        path: String,
        /// Its size.
        size: u64,
        /// The size of every full part.
        first: u64,
    },
}

/// The number of a part name (`x.tar.007` -> 7).
fn number(path: &Path) -> Option<usize> {
    let ext = path.extension()?.to_str()?;
    (ext.len() >= 3 && ext.bytes().all(|b| b.is_ascii_digit())).then(|| ext.parse().ok())?
}

impl PartReader {
    /// Checks the files given: numbered parts are sorted and must run from
    /// 1 with no gap, and every part but the last must be full.
    pub fn open(given: &[PathBuf]) -> Result<PartReader, PartsError> {
        let mut paths = given.to_vec();
        let numbered = paths.len() > 1 || paths.iter().any(|p| number(p).is_some());
        if numbered {
            paths.sort_by_key(|p| number(p).unwrap_or(0));
            paths.dedup();
            let list = || {
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            for (i, path) in paths.iter().enumerate() {
                if number(path) != Some(i + 1) {
                    let missing = part_name(&path.with_extension(""), i + 1);
                    return Err(PartsError::Missing {
                        missing: missing.display().to_string(),
                        given: list(),
                    });
                }
            }
        }
        let mut parts = Vec::new();
        for path in paths {
            let size = std::fs::metadata(&path)
                .map_err(|source| PartsError::Unreadable {
                    path: path.display().to_string(),
                    source,
                })?
                .len();
            parts.push((path, size));
        }
        if let Some(&(_, first)) = parts.first() {
            let last = parts.len().saturating_sub(1);
            if let Some((path, size)) = parts[..last].iter().find(|(_, s)| *s < first) {
                return Err(PartsError::Truncated {
                    path: path.display().to_string(),
                    size: *size,
                    first,
                });
            }
        }
        let map = PartMap {
            parts,
            position: Rc::new(Cell::new(0)),
        };
        Ok(PartReader {
            map,
            index: 0,
            file: None,
        })
    }

    /// The map of the parts, which keeps following the reader.
    pub fn map(&self) -> PartMap {
        self.map.clone()
    }
}

impl PartMap {
    /// Bytes read so far.
    pub fn position(&self) -> u64 {
        self.position.get()
    }

    /// The part that holds byte `position` of the stream, and the offset in it.
    pub fn locate(&self, position: u64) -> (String, u64) {
        let mut start = 0;
        for (path, size) in &self.parts {
            if position < start + size {
                return (path.display().to_string(), position - start);
            }
            start += size;
        }
        let (path, size) = self
            .parts
            .last()
            .map(|(p, s)| (p.display().to_string(), *s))
            .unwrap_or_default();
        (path, size)
    }

    /// The last part given.
    pub fn last(&self) -> String {
        self.parts
            .last()
            .map(|(p, _)| p.display().to_string())
            .unwrap_or_default()
    }
}

impl Read for PartReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.file.is_none() {
                let Some((path, _)) = self.map.parts.get(self.index) else {
                    return Ok(0);
                };
                self.file = Some(File::open(path)?);
            }
            let n = self.file.as_mut().expect("a part is open").read(buf)?;
            if n > 0 || buf.is_empty() {
                self.map.position.set(self.map.position.get() + n as u64);
                return Ok(n);
            }
            self.file = None;
            self.index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cut_and_join_again_and_a_gap_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.tar");
        let mut w = PartWriter::new(&out, Some(4));
        w.write_all(b"0123456789").unwrap();
        let parts = w.finish().unwrap();
        assert_eq!(parts.len(), 3);
        let mut reversed = parts.clone();
        reversed.reverse();
        let mut joined = Vec::new();
        PartReader::open(&reversed)
            .unwrap()
            .read_to_end(&mut joined)
            .unwrap();
        assert_eq!(joined, b"0123456789");

        let err = PartReader::open(&[parts[0].clone(), parts[2].clone()])
            .err()
            .unwrap();
        assert!(err.to_string().contains("b.tar.002 is missing"), "{err}");
        std::fs::write(&parts[1], b"45").unwrap();
        let err = PartReader::open(&parts).err().unwrap();
        assert!(err.to_string().contains("b.tar.002 is 2 bytes"), "{err}");
    }
}

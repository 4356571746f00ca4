//! Stage 1, ingest: turns the command line's inputs (files, folders, `-`) into [`Source`]s.
//!
//! Folders are walked recursively in sorted order (deterministic source ids), symlink loops
//! are reported, `.gz`, `.zst` and `.xz` are decompressed transparently (with a size limit
//! against decompression bombs), plain files are read whole (see `read_file` for why not mapped). Anything that cannot be read
//! becomes a [`SourceIssue`] attached to a source entry; ingest never aborts the analysis
//! for one bad input.

mod decompress;

use crate::event::SourceId;
use crate::lines::{Terminator, count_lines};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use decompress::{Compression, DecompressError};

/// Bytes of an input (read or decompressed), or, once the input is parsed, only the text
/// its events reference.
pub enum Bytes {
    /// The data, as read (and decompressed).
    Owned(Vec<u8>),
    /// The message and field texts of the parsed events, copied one after the other; the
    /// events' spans were moved to point into it ([`crate::formats::keep_referenced_text`]).
    /// The raw input is gone: only [`crate::event::Text`] spans may be resolved against it.
    Referenced(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) | Bytes::Referenced(v) => v,
        }
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bytes::Owned(v) => write!(f, "Bytes({})", v.len()),
            Bytes::Referenced(v) => write!(f, "Bytes(referenced {})", v.len()),
        }
    }
}

/// A problem with one input, reported and never fatal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceIssue {
    /// 1-based line, when the problem is at a line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Byte offset, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// What is wrong, lower case, no trailing period.
    pub message: String,
}

impl SourceIssue {
    /// An issue about the whole input.
    pub fn file(message: impl Into<String>) -> Self {
        SourceIssue {
            line: None,
            offset: None,
            message: message.into(),
        }
    }
    /// An issue at a line and byte offset.
    pub fn at(line: u32, offset: u64, message: impl Into<String>) -> Self {
        SourceIssue {
            line: Some(line),
            offset: Some(offset),
            message: message.into(),
        }
    }
}

/// One input, read.
#[derive(Debug)]
pub struct Source {
    /// Position in the ordered input list.
    pub id: SourceId,
    /// The path as given on the command line, or relative to the given folder's parent
    /// (`-` for stdin); this is what reports print.
    pub path: String,
    /// The file's modification time (Unix seconds), used to infer missing years.
    pub mtime: Option<i64>,
    /// The content (decompressed).
    pub bytes: Bytes,
    /// Compression that was removed.
    pub compression: Compression,
    /// Line terminator.
    pub terminator: Terminator,
    /// Physical line count.
    pub lines: u64,
    /// Problems found while reading (the source may then be empty).
    pub issues: Vec<SourceIssue>,
}

impl Source {
    /// Builds a source from bytes in memory (tests, stdin, fuzzing).
    pub fn from_bytes(id: SourceId, path: impl Into<String>, bytes: Vec<u8>) -> Source {
        let terminator = Terminator::detect(&bytes);
        let lines = count_lines(&bytes, terminator);
        Source {
            id,
            path: path.into(),
            mtime: None,
            bytes: Bytes::Owned(bytes),
            compression: Compression::None,
            terminator,
            lines,
            issues: Vec::new(),
        }
    }
}

/// Ingest settings.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Largest decompressed size accepted for one compressed input, in bytes.
    pub max_decompressed: u64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_decompressed: 4 << 30,
        }
    }
}

/// A file found under the inputs, before reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Real path to open (`-` for stdin).
    pub fs_path: PathBuf,
    /// Path to display.
    pub display: String,
    /// A problem found while walking (the entry is then reported, not read).
    pub issue: Option<String>,
}

/// Expands inputs: files as given, folders recursively (sorted; hidden files and markdown
/// notes passed over, see [`is_documentation`];
/// symlinks followed with loop detection), `-` as stdin.
pub fn discover(inputs: &[PathBuf]) -> Vec<Found> {
    let mut out = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            out.push(Found {
                fs_path: input.clone(),
                display: "-".into(),
                issue: None,
            });
            continue;
        }
        let meta = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                out.push(Found {
                    fs_path: input.clone(),
                    display: input.display().to_string(),
                    issue: Some(format!("cannot read {}: {e}", input.display())),
                });
                continue;
            }
        };
        if !meta.is_dir() {
            out.push(Found {
                fs_path: input.clone(),
                display: input.display().to_string(),
                issue: None,
            });
            continue;
        }
        let base = input.parent().unwrap_or(Path::new(""));
        let walker = walkdir::WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_dir() => {}
                Ok(e) if is_documentation(e.path()) => {}
                Ok(e) => {
                    let p = e.path();
                    let display = p.strip_prefix(base).unwrap_or(p).display().to_string();
                    out.push(Found {
                        fs_path: p.to_path_buf(),
                        display,
                        issue: None,
                    });
                }
                Err(e) => {
                    let p = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| input.clone());
                    let display = p.strip_prefix(base).unwrap_or(&p).display().to_string();
                    let what = if e.loop_ancestor().is_some() {
                        "symlink loop, not followed".to_string()
                    } else {
                        e.io_error()
                            .map(|io| io.to_string())
                            .unwrap_or_else(|| e.to_string())
                    };
                    out.push(Found {
                        fs_path: p,
                        display: display.clone(),
                        issue: Some(format!("cannot read {display}: {what}")),
                    });
                }
            }
        }
    }
    out
}

/// Files a folder walk passes over: markdown notes (`README.md` beside saved logs) and
/// hidden files (`.gitkeep`, editor swap files). Named on the command line, they are read.
pub fn is_documentation(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.') || name.ends_with(".md") || name.ends_with(".markdown")
}

/// Reads one found input into a source. Never fails: problems become issues.
pub fn read(id: SourceId, found: &Found, opts: &IngestOptions) -> Source {
    read_into(id, found, opts, Vec::new())
}

/// [`read`] into `buf` (cleared first): a buffer kept from the previous file saves the
/// page faults of fresh memory, a tenth of the time of a journal JSON parse. A compressed
/// file is decompressed into a new vector.
pub fn read_into(id: SourceId, found: &Found, opts: &IngestOptions, buf: Vec<u8>) -> Source {
    let mut src = Source::from_bytes(id, found.display.clone(), Vec::new());
    if let Some(issue) = &found.issue {
        src.issues.push(SourceIssue::file(issue.clone()));
        return src;
    }
    let (bytes, mtime) = if found.fs_path.as_os_str() == "-" {
        let mut v = Vec::new();
        if let Err(e) = std::io::stdin().lock().read_to_end(&mut v) {
            src.issues.push(SourceIssue::file(format!(
                "cannot read standard input: {e}"
            )));
        }
        (Bytes::Owned(v), None)
    } else {
        match read_file(&found.fs_path, buf) {
            Ok(x) => x,
            Err(e) => {
                src.issues.push(SourceIssue::file(format!(
                    "cannot read {}: {e}",
                    found.display
                )));
                return src;
            }
        }
    };
    src.mtime = mtime;
    let compression = Compression::detect(&bytes);
    let bytes = if compression == Compression::None {
        bytes
    } else {
        match decompress::decompress(compression, &bytes, opts.max_decompressed) {
            Ok(v) => Bytes::Owned(v),
            Err((partial, err)) => {
                src.issues.push(SourceIssue::file(format!(
                    "{}: {err}; {} bytes recovered before the error are analysed",
                    found.display,
                    partial.len()
                )));
                Bytes::Owned(partial)
            }
        }
    };
    src.compression = compression;
    src.terminator = Terminator::detect(&bytes);
    src.lines = count_lines(&bytes, src.terminator);
    src.bytes = bytes;
    src
}

fn read_file(path: &Path, mut v: Vec<u8>) -> std::io::Result<(Bytes, Option<i64>)> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    // Read, not mapped: `memmap2::Mmap::map` is an unsafe fn and the crate forbids unsafe
    // code; a map of a log being appended to (or truncated) can also fault. One sequential
    // read is as fast for a single pass and its pages are ours alone.
    v.clear();
    v.reserve(meta.len() as usize);
    (&file).read_to_end(&mut v)?;
    Ok((Bytes::Owned(v), mtime))
}

/// Every file under `tests/fixtures` and `samples`, read (and decompressed) as the CLI reads
/// them: the corpus of the unit tests that check a fast path against a reference on all
/// real-world lines the repository holds.
#[cfg(test)]
pub(crate) fn fixture_and_sample_sources() -> Vec<Source> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = discover(&[root.join("tests/fixtures"), root.join("samples")]);
    let opts = IngestOptions::default();
    found
        .iter()
        .enumerate()
        .map(|(i, f)| read(i as u32, f, &opts))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_buffer_holds_only_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.log"), "short\n").unwrap();
        let found = discover(&[dir.path().join("a.log")]);
        let old = b"a much longer previous file\nwith two lines\n".to_vec();
        let src = read_into(0, &found[0], &IngestOptions::default(), old);
        assert_eq!(&*src.bytes, b"short\n");
        assert_eq!(src.lines, 1);
        assert!(src.issues.is_empty());
    }

    #[test]
    fn discovers_sorted_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/z.log"), "z\n").unwrap();
        std::fs::write(dir.path().join("a.log"), "a\n").unwrap();
        std::fs::write(dir.path().join("README.md"), "# notes\n").unwrap();
        std::fs::write(dir.path().join(".hidden"), "x\n").unwrap();
        let found = discover(&[dir.path().to_path_buf(), dir.path().join("nope")]);
        let names: Vec<_> = found
            .iter()
            .map(|f| f.fs_path.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, ["a.log", "z.log", "nope"]);
        assert!(found[2].issue.as_ref().unwrap().contains("nope"));
        let src = read(0, &found[0], &IngestOptions::default());
        assert_eq!(src.lines, 1);
        assert!(src.issues.is_empty());
        let bad = read(2, &found[2], &IngestOptions::default());
        assert_eq!(bad.lines, 0);
        assert_eq!(bad.issues.len(), 1);
    }
}

//! Physical line splitting on byte slices, shared by every line-based format.
//!
//! A physical line ends with `\n` (a preceding `\r` is dropped from its content); a file
//! with no `\n` at all but with `\r` is a CR-only file and its lines end with `\r`. A final
//! line without terminator counts when it is non-empty. Line numbers are 1-based. No
//! allocation: lines are spans into the input.

use memchr::memchr;

/// How a source's lines are terminated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminator {
    /// `\n` (with `\r\n` accepted).
    Lf,
    /// `\r` only (old Mac, or a GitLab trace saved with CRs only).
    Cr,
}

impl Terminator {
    /// Detects the terminator: `Cr` only when the input has `\r` but no `\n`.
    pub fn detect(bytes: &[u8]) -> Terminator {
        if memchr(b'\n', bytes).is_none() && memchr(b'\r', bytes).is_some() {
            Terminator::Cr
        } else {
            Terminator::Lf
        }
    }
    fn byte(self) -> u8 {
        match self {
            Terminator::Lf => b'\n',
            Terminator::Cr => b'\r',
        }
    }
}

/// Counts the physical lines of `bytes`.
pub fn count_lines(bytes: &[u8], term: Terminator) -> u64 {
    if bytes.is_empty() {
        return 0;
    }
    let n = memchr::memchr_iter(term.byte(), bytes).count() as u64;
    if bytes[bytes.len() - 1] == term.byte() {
        n
    } else {
        n + 1
    }
}

/// One physical line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number.
    pub no: u32,
    /// Byte offset of the line's first byte in the source.
    pub start: usize,
    /// The content without terminator (and without the `\r` of a `\r\n`).
    pub text: &'a [u8],
}

impl Line<'_> {
    /// Byte offset just past the content.
    pub fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// Iterator over the physical lines of `bytes[from..]`.
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    no: u32,
    term: u8,
}

impl<'a> Lines<'a> {
    /// Lines of the whole input, numbered from 1.
    pub fn new(bytes: &'a [u8], term: Terminator) -> Self {
        Lines {
            bytes,
            pos: 0,
            no: 0,
            term: term.byte(),
        }
    }
    /// Lines starting at byte `from` (a line start), the first numbered `first_no`.
    pub fn starting_at(bytes: &'a [u8], term: Terminator, from: usize, first_no: u32) -> Self {
        Lines {
            bytes,
            pos: from.min(bytes.len()),
            no: first_no.saturating_sub(1),
            term: term.byte(),
        }
    }
    /// Byte offset of the next line to be returned.
    pub fn position(&self) -> usize {
        self.pos
    }
    /// Number of the last line returned (0 before the first).
    pub fn last_no(&self) -> u32 {
        self.no
    }
    /// Returns the next line without consuming it.
    pub fn peek(&self) -> Option<Line<'a>> {
        self.clone().next()
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;
    fn next(&mut self) -> Option<Line<'a>> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        let (len, adv) = match memchr(self.term, rest) {
            Some(i) => (i, i + 1),
            None => (rest.len(), rest.len()),
        };
        let mut text = &rest[..len];
        if self.term == b'\n' && text.last() == Some(&b'\r') {
            text = &text[..text.len() - 1];
        }
        let start = self.pos;
        self.pos += adv;
        self.no = self.no.saturating_add(1);
        Some(Line {
            no: self.no,
            start,
            text,
        })
    }
}

/// Trims ASCII spaces and tabs at both ends.
pub fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| *c != b' ' && *c != b'\t')
        .map_or(s, |i| i + 1);
    &b[s..e.max(s)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lf_crlf_cr_and_unterminated() {
        assert_eq!(count_lines(b"", Terminator::Lf), 0);
        assert_eq!(count_lines(b"a\nb\n", Terminator::Lf), 2);
        assert_eq!(count_lines(b"a\nb", Terminator::Lf), 2);
        assert_eq!(count_lines(b"\n\n", Terminator::Lf), 2);
        let cr = b"a\rb\rc";
        assert_eq!(Terminator::detect(cr), Terminator::Cr);
        assert_eq!(count_lines(cr, Terminator::Cr), 3);
        assert_eq!(Terminator::detect(b"a\r\nb"), Terminator::Lf);
    }

    #[test]
    fn iterates_with_numbers_and_strips_cr_of_crlf() {
        let v: Vec<_> = Lines::new(b"ab\r\ncd\n\nx", Terminator::Lf).collect();
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].text, b"ab");
        assert_eq!(v[1].no, 2);
        assert_eq!(v[1].start, 4);
        assert_eq!(v[2].text, b"");
        assert_eq!(v[3].text, b"x");
        assert_eq!(v[3].no, 4);
    }

    #[test]
    fn trims() {
        assert_eq!(trim(b"  a b\t "), b"a b");
        assert_eq!(trim(b"   "), b"");
    }
}

//! Timestamp parsing on byte slices, without allocation: RFC 3339 / ISO 8601 (with `T` or
//! space, `.` or `,` fractions, `Z`, `+hh:mm` or `+hhmm`), BSD syslog `Mmm dd hh:mm:ss[.frac]`
//! (English and a few localised month names), epoch seconds with fraction, monotonic
//! `[ sssss.uuuuuu]`, and formatting back to RFC 3339 UTC.
//!
//! Times are `i64` nanoseconds since the Unix epoch. Naive times (no zone) are returned as
//! if they were UTC; the clock stage applies the zone. Year-less times use the year 2000.

use chrono::{DateTime, NaiveDate};

/// Year used for year-less (`NoYear`) times; a leap year so that Feb 29 exists.
pub const NO_YEAR: i32 = 2000;

const NS: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), H. Hinnant's algorithm.
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Nanoseconds of a naive date-time, validating the fields.
pub fn naive_ns(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ns: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let dim = match mo {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d > dim {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s.min(59));
    secs.checked_mul(NS)?.checked_add(i64::from(ns))
}

fn d(b: &[u8], at: usize, n: usize) -> Option<u32> {
    crate::text::digits(b.get(at..)?, n)
}

/// Parses a fraction of seconds (digits after `.`/`,`) at `b[at..]`; returns (ns, bytes used).
fn fraction(b: &[u8], at: usize) -> (u32, usize) {
    match b.get(at) {
        Some(b'.') | Some(b',') => {}
        _ => return (0, 0),
    }
    let mut ns: u64 = 0;
    let mut n = 0;
    let mut i = at + 1;
    while i < b.len() && b[i].is_ascii_digit() {
        if n < 9 {
            ns = ns * 10 + u64::from(b[i] - b'0');
            n += 1;
        }
        i += 1;
    }
    if i == at + 1 {
        return (0, 0);
    }
    while n < 9 {
        ns *= 10;
        n += 1;
    }
    (ns as u32, i - at)
}

/// Parses a zone suffix at `b[at..]`: `Z`, `+hh:mm`, `+hhmm`, `+hh`. Returns (offset
/// seconds east, bytes used) or None when absent.
fn zone(b: &[u8], at: usize) -> Option<(i64, usize)> {
    match b.get(at)? {
        b'Z' | b'z' => Some((0, 1)),
        c @ (b'+' | b'-') => {
            let sign = if *c == b'-' { -1 } else { 1 };
            let h = d(b, at + 1, 2)?;
            let (m, used) = if b.get(at + 3) == Some(&b':') {
                (d(b, at + 4, 2)?, 6)
            } else if let Some(m) = d(b, at + 3, 2) {
                (m, 5)
            } else {
                (0, 3)
            };
            if h > 23 || m > 59 {
                return None;
            }
            Some((sign * (i64::from(h) * 3600 + i64::from(m) * 60), used))
        }
        _ => None,
    }
}

/// Parses `YYYY-MM-DD[T ]hh:mm:ss[.frac][zone]` at the start of `b`.
/// Returns (ns, has_zone, bytes used); naive times are returned as if UTC.
pub fn parse_iso(b: &[u8]) -> Option<(i64, bool, usize)> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[10] != b'T' && b[10] != b' ' {
        return None;
    }
    let y = d(b, 0, 4)? as i32;
    let t = naive_ns(
        y,
        d(b, 5, 2)?,
        d(b, 8, 2)?,
        d(b, 11, 2)?,
        d(b, 14, 2)?,
        d(b, 17, 2)?,
        0,
    )?;
    let (frac, fl) = fraction(b, 19);
    let at = 19 + fl;
    match zone(b, at) {
        Some((off, zl)) => Some((t + i64::from(frac) - off * NS, true, at + zl)),
        None => Some((t + i64::from(frac), false, at)),
    }
}

/// Parses an RFC 3339 time with zone at the start of `b` (returns UTC ns, bytes used).
pub fn parse_rfc3339(b: &[u8]) -> Option<(i64, usize)> {
    match parse_iso(b)? {
        (t, true, used) => Some((t, used)),
        _ => None,
    }
}

/// Month number from an English three-letter abbreviation, or a few common localised forms
/// (German, French, Spanish, CJK `N月`). Returns (month, bytes used).
pub fn month(b: &[u8]) -> Option<(u32, usize)> {
    const EN: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    if b.len() >= 3 {
        let k = [
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_lowercase(),
            b[2].to_ascii_lowercase(),
        ];
        if let Some(i) = EN.iter().position(|m| **m == k) {
            return Some((i as u32 + 1, 3));
        }
        const OTHER: [(&[u8], u32); 14] = [
            (b"Mai", 5),
            (b"Okt", 10),
            (b"Dez", 12),
            (b"M\xc3\xa4r", 3),
            (b"janv.", 1),
            (b"f\xc3\xa9vr.", 2),
            (b"mars", 3),
            (b"avril", 4),
            (b"juin", 6),
            (b"juil.", 7),
            (b"ao\xc3\xbbt", 8),
            (b"sept.", 9),
            (b"ene", 1),
            (b"dic", 12),
        ];
        for (name, m) in OTHER {
            if b.len() >= name.len() && b[..name.len()].eq_ignore_ascii_case(name) {
                return Some((m, name.len()));
            }
        }
    }
    // "3月" / "12月" (U+6708 = e6 9c 88)
    let n = b.iter().take(2).take_while(|c| c.is_ascii_digit()).count();
    if n > 0 && b.get(n..n + 3) == Some(&b"\xe6\x9c\x88"[..]) {
        let m = crate::text::digits(b, n)?;
        if (1..=12).contains(&m) {
            return Some((m, n + 3));
        }
    }
    None
}

/// Parses `Mmm dd hh:mm:ss[.frac]` (day space-padded or zero-padded) at the start of `b`.
/// Returns the naive time in year [`NO_YEAR`] and the bytes used.
pub fn parse_bsd(b: &[u8]) -> Option<(i64, usize)> {
    let (mo, ml) = month(b)?;
    let mut i = ml;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let dl = b[i..]
        .iter()
        .take(2)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if dl == 0 {
        return None;
    }
    let day = crate::text::digits(&b[i..], dl)?;
    i += dl;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let (h, mi, s) = (d(b, i, 2)?, d(b, i + 3, 2)?, d(b, i + 6, 2)?);
    if b.get(i + 2) != Some(&b':') || b.get(i + 5) != Some(&b':') {
        return None;
    }
    i += 8;
    let (frac, fl) = fraction(b, i);
    let t = naive_ns(NO_YEAR, mo, day, h, mi, s, frac)?;
    Some((t, i + fl))
}

/// Parses `sssss.uuuuuu` seconds (leading spaces allowed) at the start of `b`; returns
/// (microseconds, bytes used).
pub fn parse_secs_us(b: &[u8]) -> Option<(i64, usize)> {
    let mut i = 0;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let s0 = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == s0 || i - s0 > 12 {
        return None;
    }
    let secs = crate::text::parse_u64(&b[s0..i])? as i64;
    let (ns, fl) = fraction(b, i);
    Some((secs * 1_000_000 + i64::from(ns / 1000), i + fl))
}

/// Formats UTC ns as RFC 3339 with microseconds and `Z` (`2026-03-25T10:00:00.123456Z`).
pub fn rfc3339(ns: i64) -> String {
    match DateTime::from_timestamp(ns.div_euclid(NS), ns.rem_euclid(NS) as u32) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => "invalid-time".to_string(),
    }
}

/// Formats UTC ns as RFC 3339 to the second (`2026-03-25T10:00:00Z`).
pub fn rfc3339_secs(ns: i64) -> String {
    match DateTime::from_timestamp(ns.div_euclid(NS), 0) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "invalid-time".to_string(),
    }
}

/// Splits naive ns into a chrono date-time (for year/zone fix-ups in the clock stage).
pub fn to_naive(ns: i64) -> Option<chrono::NaiveDateTime> {
    DateTime::from_timestamp(ns.div_euclid(NS), ns.rem_euclid(NS) as u32).map(|t| t.naive_utc())
}

/// The naive ns of a chrono naive date-time.
pub fn from_naive(t: chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Replaces the year of a year-less naive time; None when the date does not exist that year
/// (Feb 29).
pub fn with_year(ns: i64, year: i32) -> Option<i64> {
    use chrono::{Datelike, Timelike};
    let t = to_naive(ns)?;
    let date = NaiveDate::from_ymd_opt(year, t.month(), t.day())?;
    let nt = date.and_hms_nano_opt(t.hour(), t.minute(), t.second(), t.nanosecond())?;
    Some(from_naive(nt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_variants() {
        let base = 1_774_432_800_000_000_000; // 2026-03-25T10:00:00Z
        assert_eq!(parse_iso(b"2026-03-25T10:00:00Z"), Some((base, true, 20)));
        assert_eq!(
            parse_iso(b"2026-03-25T11:00:00+01:00 x").map(|x| x.0),
            Some(base)
        );
        assert_eq!(
            parse_iso(b"2026-03-25T11:00:00+0100 x").map(|x| x.0),
            Some(base)
        );
        assert_eq!(
            parse_iso(b"2026-03-25T10:00:00,123456+00:00").map(|x| x.0),
            Some(base + 123_456_000)
        );
        assert_eq!(
            parse_iso(b"2026-03-25 10:00:00.5").map(|x| (x.0, x.1)),
            Some((base + 500_000_000, false))
        );
        assert_eq!(parse_iso(b"2026-02-30T10:00:00Z"), None);
        assert_eq!(parse_iso(b"2026-03-25T10:00"), None);
    }

    #[test]
    fn bsd_and_localised_months() {
        let (t, used) = parse_bsd(b"Mar  4 10:00:00 host").unwrap();
        assert_eq!(used, 15);
        assert_eq!(rfc3339(t), "2000-03-04T10:00:00.000000Z");
        assert!(parse_bsd(b"Okt 05 16:41:38 x").is_some());
        let (t, _) = parse_bsd("9月 18 02:27:12 x".as_bytes()).unwrap();
        assert_eq!(rfc3339(t), "2000-09-18T02:27:12.000000Z");
        let (t, _) = parse_bsd(b"Feb 29 23:59:59.250000").unwrap();
        assert_eq!(rfc3339(t), "2000-02-29T23:59:59.250000Z");
        assert_eq!(with_year(t, 2026), None);
        assert!(with_year(t, 2028).is_some());
        assert!(parse_bsd(b"Foo 29 23:59:59").is_none());
    }

    #[test]
    fn monotonic_seconds() {
        assert_eq!(parse_secs_us(b"    5.000100]"), Some((5_000_100, 12)));
        assert_eq!(parse_secs_us(b"1234.567890"), Some((1_234_567_890, 11)));
        assert_eq!(parse_secs_us(b"x"), None);
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }
}

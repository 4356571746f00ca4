//! `timeline.svg`: a picture of the outage at blog width (800 px). One lane per host and
//! source shows events per minute as bars (error-or-worse in red, each lane on a square-root
//! scale of its own peak, written at its right end), incidents are translucent bands across every lane with
//! their id on top (red for failures, green for expected findings), and matched signals are
//! small diamonds on their host's first lane.
//!
//! A tiny hand-written SVG writer (string building, [`super::junit::xml_escape`] for text):
//! the picture is a few hundred rectangles, which does not justify a plotting crate. Long
//! windows are bucketed so no lane has more bars than the plot has pixels; coordinates are
//! printed with one decimal, so the output is byte-stable.

use super::{RenderOptions, clock_time, junit::xml_escape, ns, window};
use crate::analysis::{Activity, Analysis, Verdict};
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: f64 = 800.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 60.0;
const TOP: f64 = 58.0;
const LANE: f64 = 36.0;
const BAR: f64 = 26.0;
/// Lanes drawn at most; the busiest are kept and the rest counted in a note.
const MAX_LANES: usize = 32;
const NS_MIN: i64 = 60_000_000_000;

/// Renders the picture.
pub fn render(a: &Analysis, _opts: &RenderOptions) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let mut lanes: Vec<&Activity> = a
        .activity
        .iter()
        .filter(|l| !l.per_minute.is_empty())
        .collect();
    let hidden = lanes.len().saturating_sub(MAX_LANES);
    if hidden > 0 {
        // Keep the busiest lanes, then restore host/source order for reading.
        lanes.sort_by_key(|l| std::cmp::Reverse(l.per_minute.iter().map(|p| p.1).sum::<u64>()));
        lanes.truncate(MAX_LANES);
        lanes.sort_by(|x, y| (&x.host, &x.source).cmp(&(&y.host, &y.source)));
    }
    let lane_hosts: Vec<&str> = lanes.iter().map(|l| l.host.as_str()).collect();
    let mut orphans: Vec<&str> = a
        .marks
        .iter()
        .map(|m| m.host.as_str())
        .filter(|h| !lane_hosts.contains(h))
        .collect();
    orphans.sort_unstable();
    orphans.dedup();
    let orphan_marks = !orphans.is_empty();
    let rows = lanes.len() + usize::from(orphan_marks);
    let height = TOP + rows.max(1) as f64 * LANE + 64.0;

    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(
        o,
        "<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{height:.0}\" fill=\"#ffffff\"/>"
    );

    let Some((t0, t1)) = range(a) else {
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">no timed events</text>\n</svg>",
            WIDTH / 2.0
        );
        return o;
    };
    let span_min = ((t1 - t0) / NS_MIN).max(1);
    // Minutes per bar: at most one bar per two pixels.
    let bucket = ((span_min as f64 * 2.0 / plot_w).ceil() as i64).max(1);
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * plot_w;
    let bar_w = (plot_w * (bucket * NS_MIN) as f64 / (t1 - t0) as f64 - 0.6).max(0.8);

    let unit = if bucket == 1 {
        "minute".to_string()
    } else {
        format!("{bucket} minutes")
    };
    let _ = writeln!(
        o,
        "<text x=\"12\" y=\"20\" font-size=\"14\" font-weight=\"bold\" fill=\"#222\">{}</text>",
        xml_escape(&format!(
            "Events per {unit} (square-root scale), {} to {} UTC",
            clock_time(t0),
            short_time(t1, t0)
        ))
    );

    // Lane backgrounds and labels.
    let plot_bottom = TOP + rows as f64 * LANE;
    let mut group = 0;
    for (k, l) in lanes.iter().enumerate() {
        let y = TOP + k as f64 * LANE;
        // Backgrounds alternate per host, so a host's lanes read as one group; the host is
        // named once per group.
        let first_of_host = k == 0 || lanes[k - 1].host != l.host;
        if first_of_host && k > 0 {
            group += 1;
        }
        if group % 2 == 0 {
            let _ = writeln!(
                o,
                "<rect x=\"{LEFT}\" y=\"{y:.1}\" width=\"{plot_w:.1}\" height=\"{LANE}\" fill=\"#eef1f5\"/>"
            );
        }
        if first_of_host {
            let host = if l.host.is_empty() {
                "(no host)"
            } else {
                &l.host
            };
            let _ = writeln!(
                o,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"bold\" fill=\"#222\">{}</text>",
                LEFT - 8.0,
                y + 15.0,
                xml_escape(&ellipsize_front(host, 26))
            );
        }
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"9.5\" fill=\"#666\">{}</text>",
            LEFT - 8.0,
            y + 28.0,
            xml_escape(&ellipsize_front(&l.source, 32))
        );
    }
    if orphan_marks {
        let y = TOP + lanes.len() as f64 * LANE;
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#222\">{}</text>",
            LEFT - 8.0,
            y + 21.0,
            xml_escape(&match orphans.as_slice() {
                [one] if !one.is_empty() => format!("{} (signals)", ellipsize_front(one, 16)),
                _ => "signals, other hosts".to_string(),
            })
        );
    }

    // Light grid lines at the axis ticks.
    let step = tick_step(t1 - t0);
    let first_tick = {
        let t = t0.div_euclid(step) * step;
        if t < t0 { t + step } else { t }
    };
    let mut tk = first_tick;
    while tk <= t1 {
        let _ = writeln!(
            o,
            "<line x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"#d0d4da\" stroke-width=\"0.6\"/>",
            x(tk)
        );
        tk += step;
    }

    // Incident bands under the bars, labels above the plot. A label that would touch the
    // previous one in its row moves to the next row up (three rows), so close incidents stay
    // legible.
    let mut label_end = [f64::MIN; 3];
    for i in &a.incidents {
        let Some((b, e)) = window(i) else { continue };
        let (xb, xe) = (x(b), x(e).max(x(b) + 3.0));
        let (fill, text) = match i.verdict {
            Verdict::Failure => ("#d62728", "#a61b1b"),
            Verdict::Expected => ("#2ca02c", "#1e6e1e"),
        };
        let _ = writeln!(
            o,
            "<rect x=\"{xb:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" fill-opacity=\"0.13\" stroke=\"{fill}\" stroke-opacity=\"0.5\" stroke-width=\"0.8\"><title>{}</title></rect>",
            TOP - 14.0,
            xe - xb,
            plot_bottom - TOP + 14.0,
            xml_escape(&format!("{} {} ({})", i.id, i.title, i.verdict.as_str()))
        );
        let lx = xb + 2.0;
        let width = 7.0 * i.id.chars().count() as f64 + 3.0;
        let row = (0..3).find(|&r| label_end[r] < lx).unwrap_or(0);
        label_end[row] = lx + width;
        let _ = writeln!(
            o,
            "<text x=\"{lx:.1}\" y=\"{:.1}\" font-size=\"10\" font-weight=\"bold\" fill=\"{text}\">{}</text>",
            TOP - 4.0 - 11.0 * row as f64,
            xml_escape(&i.id)
        );
    }

    // Bars.
    for (k, l) in lanes.iter().enumerate() {
        let y0 = TOP + k as f64 * LANE + (LANE - BAR) / 2.0 + BAR;
        let all = buckets(&l.per_minute, t0, bucket);
        let errs = buckets(&l.errors_per_minute, t0, bucket);
        let peak = all.values().copied().max().unwrap_or(1).max(1);
        for (series, colour) in [(&all, "#5b7fa6"), (&errs, "#d62728")] {
            for (&start, &n) in series {
                // Square-root scale: a burst of hundreds must not flatten the base rate.
                let h = ((n as f64 / peak as f64).sqrt() * BAR).max(1.0);
                let _ = writeln!(
                    o,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\" fill=\"{colour}\"/>",
                    x(start),
                    y0 - h
                );
            }
        }
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#666\">{peak}/{}</text>",
            LEFT + plot_w + 4.0,
            y0 - BAR + 8.0,
            if bucket == 1 {
                "min".to_string()
            } else {
                format!("{bucket}m")
            }
        );
    }

    // Signal marks: on the lane of their source, else the first lane of their host, else on
    // the "other hosts" row.
    for m in &a.marks {
        let row = lanes
            .iter()
            .position(|l| l.host == m.host && l.source == m.source)
            .or_else(|| lanes.iter().position(|l| l.host == m.host))
            .unwrap_or(lanes.len());
        let cy = TOP + row as f64 * LANE + 5.0;
        let cx = x(m.time);
        let colour = match m
            .incident
            .as_ref()
            .and_then(|id| a.incidents.iter().find(|i| &i.id == id))
        {
            Some(i) if i.verdict == Verdict::Failure => "#a61b1b",
            Some(_) => "#1e6e1e",
            None => "#6a3d9a",
        };
        let _ = writeln!(
            o,
            "<path d=\"M{cx:.1} {:.1} L{:.1} {cy:.1} L{cx:.1} {:.1} L{:.1} {cy:.1} Z\" fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"0.6\"><title>{}</title></path>",
            cy - 4.5,
            cx + 4.5,
            cy + 4.5,
            cx - 4.5,
            xml_escape(&format!(
                "{} {} {}",
                m.rule,
                m.host,
                crate::time::rfc3339_secs(m.time)
            ))
        );
    }

    // Time axis.
    let _ = writeln!(
        o,
        "<line x1=\"{LEFT}\" y1=\"{plot_bottom:.1}\" x2=\"{:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"#888\" stroke-width=\"1\"/>",
        LEFT + plot_w
    );
    let mut t = first_tick;
    while t <= t1 {
        let xt = x(t);
        let _ = writeln!(
            o,
            "<line x1=\"{xt:.1}\" y1=\"{:.1}\" x2=\"{xt:.1}\" y2=\"{:.1}\" stroke=\"#888\" stroke-width=\"1\"/>",
            plot_bottom,
            plot_bottom + 4.0
        );
        let _ = writeln!(
            o,
            "<text x=\"{xt:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
            plot_bottom + 16.0,
            xml_escape(&tick_label(t, t1 - t0))
        );
        t += step;
    }

    // Legend.
    let ly = plot_bottom + 40.0;
    let mut lx = LEFT;
    // The legend names only what the picture shows.
    let has = |v: Verdict| {
        a.incidents
            .iter()
            .any(|i| i.verdict == v && window(i).is_some())
    };
    let shown = [
        ("bar", "#5b7fa6", "events", !lanes.is_empty()),
        ("bar", "#d62728", "errors", !lanes.is_empty()),
        ("band", "#d62728", "failure", has(Verdict::Failure)),
        ("band", "#2ca02c", "expected", has(Verdict::Expected)),
        ("mark", "#6a3d9a", "signal", !a.marks.is_empty()),
    ];
    for (kind, colour, label, _) in shown.into_iter().filter(|e| e.3) {
        match kind {
            "bar" => {
                let _ = writeln!(
                    o,
                    "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{colour}\"/>",
                    ly - 9.0
                );
            }
            "band" => {
                let _ = writeln!(
                    o,
                    "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{colour}\" fill-opacity=\"0.13\" stroke=\"{colour}\" stroke-opacity=\"0.5\"/>",
                    ly - 9.0
                );
            }
            _ => {
                let (cx, cy) = (lx + 5.0, ly - 4.0);
                let _ = writeln!(
                    o,
                    "<path d=\"M{cx:.1} {:.1} L{:.1} {cy:.1} L{cx:.1} {:.1} L{:.1} {cy:.1} Z\" fill=\"{colour}\"/>",
                    cy - 5.0,
                    cx + 5.0,
                    cy + 5.0,
                    cx - 5.0
                );
            }
        }
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{ly:.1}\" fill=\"#444\">{label}</text>",
            lx + 14.0
        );
        lx += 20.0 + label.len() as f64 * 6.5 + 14.0;
    }
    if hidden > 0 {
        let _ = writeln!(
            o,
            "<text x=\"{lx:.1}\" y=\"{ly:.1}\" fill=\"#666\">{}</text>",
            xml_escape(&format!("({hidden} quieter lanes not shown)"))
        );
    }
    o.push_str("</svg>\n");
    o
}

/// The time range of everything drawn, padded to whole minutes (at least ten).
fn range(a: &Analysis) -> Option<(i64, i64)> {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    let mut see = |t: i64| {
        lo = lo.min(t);
        hi = hi.max(t);
    };
    for l in &a.activity {
        for &(m, _) in &l.per_minute {
            see(m.saturating_mul(1_000_000_000));
            see(m.saturating_mul(1_000_000_000).saturating_add(NS_MIN));
        }
    }
    for i in &a.incidents {
        if let Some((b, e)) = window(i) {
            see(b);
            see(e);
        }
    }
    for m in &a.marks {
        see(m.time);
    }
    if lo > hi {
        lo = ns(&a.stats.start)?;
        hi = ns(&a.stats.end)?;
    }
    let lo = lo.div_euclid(NS_MIN) * NS_MIN;
    let mut hi = (hi + NS_MIN - 1).div_euclid(NS_MIN) * NS_MIN;
    if hi - lo < 10 * NS_MIN {
        hi = lo + 10 * NS_MIN;
    }
    Some((lo, hi))
}

/// Sums per-minute counts into buckets of `bucket` minutes aligned on `t0`; keys are bucket
/// starts in ns.
fn buckets(per_minute: &[(i64, u64)], t0: i64, bucket: i64) -> BTreeMap<i64, u64> {
    let mut m = BTreeMap::new();
    let w = bucket * NS_MIN;
    for &(secs, n) in per_minute {
        let t = secs.saturating_mul(1_000_000_000);
        let k = t0 + (t - t0).div_euclid(w) * w;
        *m.entry(k).or_insert(0) += n;
    }
    m
}

/// A tick interval giving at most about eight labels.
fn tick_step(span: i64) -> i64 {
    const STEPS_MIN: &[i64] = &[
        1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080,
    ];
    for &s in STEPS_MIN {
        if span / (s * NS_MIN) <= 8 {
            return s * NS_MIN;
        }
    }
    10080 * NS_MIN * (span / (10080 * NS_MIN * 8)).max(1)
}

fn tick_label(t: i64, span: i64) -> String {
    let full = clock_time(t);
    if span > 86_400_000_000_000 {
        full[5..16].to_string()
    } else {
        full[11..16].to_string()
    }
}

/// The end time, without the date when it equals the start's.
fn short_time(t: i64, start: i64) -> String {
    let (a, b) = (clock_time(t), clock_time(start));
    if a[..10] == b[..10] {
        a[11..].to_string()
    } else {
        a
    }
}

/// Keeps the end of a long path (the file name matters most): `…/node1/journal.export`.
fn ellipsize_front(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n - (max - 1)).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_stay_readable() {
        assert_eq!(tick_step(10 * NS_MIN), 2 * NS_MIN);
        assert_eq!(tick_step(45 * NS_MIN), 10 * NS_MIN);
        assert_eq!(tick_step(6 * 60 * NS_MIN), 60 * NS_MIN);
        assert_eq!(tick_step(3 * 1440 * NS_MIN), 720 * NS_MIN);
    }

    #[test]
    fn buckets_sum_minutes() {
        let t0 = 600 * 1_000_000_000;
        let b = buckets(&[(600, 1), (660, 2), (720, 4)], t0, 2);
        assert_eq!(
            b.into_iter().collect::<Vec<_>>(),
            vec![(t0, 3), (t0 + 2 * NS_MIN, 4)]
        );
    }

    #[test]
    fn long_paths_keep_their_end() {
        assert_eq!(ellipsize_front("abc", 5), "abc");
        assert_eq!(
            ellipsize_front("samples/x/node1/journal.export", 12),
            "…rnal.export"
        );
    }
}

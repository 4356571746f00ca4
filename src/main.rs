//! The `gaplog` command line: parses arguments, calls the library, prints. See `--help`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use gaplog::timeline::ExportFormat;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Examples:
  gaplog analyze samples/tale-2026-03-25
  gaplog formats --json /var/log/saved/
  gaplog timeline node1/ thinkpad/ --export parquet -o timeline.parquet
  gaplog rules --check my-grammars/

Output (gaplog analyze):
  --format table   terminal summary on stdout (default)
  --format md      markdown report for a blog post
  --format json    JSON report, schema gaplog/report/v1 (docs/report-schema.md)
  --format junit   JUnit XML for GitLab's artifacts:reports:junit
  --format svg     timeline picture
  --out DIR        writes report.md, report.json, junit.xml and timeline.svg into DIR
                   and prints the --format output (the table by default)
  Secrets (tokens, keys, passwords) are redacted in every output unless --no-redact.

Exit status:
  0  the analysis ran
  1  with --fail-on failure: at least one incident is a failure
  2  usage error, invalid grammar, no input could be read, or an error writing the output
  (gaplog rules --check DIR: 0 valid, 1 invalid)";

/// Puts journal, dmesg, atticd, GitLab CI and Nix logs from several hosts on one timeline,
/// finds what matters, and says in which order to fix it.
#[derive(Parser, Debug)]
#[command(name = "gaplog", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Options shared by every subcommand that reads inputs.
#[derive(clap::Args, Debug, Clone)]
struct InputArgs {
    /// Input files or folders (walked recursively); `-` reads standard input. `.gz`, `.zst`
    /// and `.xz` are decompressed transparently.
    #[arg(required = true, value_name = "INPUTS")]
    inputs: Vec<PathBuf>,
    /// Force the input format of paths containing PATTERN: `--input-format node1/dmesg=kernel`
    /// (also accepted as `--format PATTERN=NAME`). Repeatable.
    #[arg(long = "input-format", value_name = "PATTERN=NAME")]
    input_format: Vec<String>,
    /// Year for timestamps without one (journalctl `short`, RFC 3164 syslog).
    #[arg(long)]
    year: Option<i32>,
    /// Time zone for timestamps without one: `Europe/Berlin` for all, or
    /// `PATTERN=Europe/Berlin` for paths containing PATTERN. Repeatable. Default: UTC.
    #[arg(long, value_name = "[PATTERN=]ZONE")]
    tz: Vec<String>,
    /// Boot start of a host or path with monotonic (dmesg) times:
    /// `node1=2026-03-25T08:00:00Z`. Repeatable.
    #[arg(long = "boot-time", value_name = "HOST|PATTERN=TIME")]
    boot_time: Vec<String>,
    /// Correct a host's clock by a signed duration in seconds: `node1=+40.5`. Repeatable.
    #[arg(long, value_name = "HOST=SECONDS", allow_hyphen_values = true)]
    skew: Vec<String>,
    /// Largest decompressed size of one compressed input, in MiB.
    #[arg(long = "max-decompressed", value_name = "MIB", default_value_t = 4096)]
    max_decompressed: u64,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    threads: Option<usize>,
    /// A grammar folder (`signals/*.toml`, `playbook.toml`) whose rules, links and fixes
    /// are added to the embedded ones, replacing those with the same id. Repeatable.
    #[arg(long, value_name = "DIR")]
    grammars: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Analyze inputs: incidents, gaps, verdicts and the fix order.
    #[command(after_help = AFTER_HELP)]
    Analyze {
        #[command(flatten)]
        input: InputArgs,
        /// Output format on stdout: table, md, json, junit or svg. A value PATTERN=NAME forces
        /// an input format instead (same as --input-format).
        #[arg(long, default_value = "table")]
        format: Vec<String>,
        /// Write every report (report.md, report.json, junit.xml, timeline.svg) into DIR
        /// (created if missing); stdout still gets the --format output.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Exit with status 1 when an incident has this verdict.
        #[arg(long = "fail-on", value_enum, value_name = "VERDICT")]
        fail_on: Option<FailOn>,
        /// Start the markdown report with front matter for this blog engine (title and
        /// date from the incident window).
        #[arg(long = "front-matter", value_enum, value_name = "ENGINE")]
        front_matter: Option<FrontMatterArg>,
        /// Keep secrets (tokens, keys, passwords) in the outputs instead of replacing them
        /// with `<redacted:KIND>`.
        #[arg(long = "no-redact")]
        no_redact: bool,
        /// Print the time spent per stage on stderr.
        #[arg(long)]
        timings: bool,
    },
    /// Print the merged timeline (all inputs in time order), or export it as a table.
    Timeline {
        #[command(flatten)]
        input: InputArgs,
        /// Output format: text (one line per event, for reading), or parquet, csv, ndjson
        /// (one row per event: time, clock, host, boot_id, source, line, format, unit, pid,
        /// severity, message) for DuckDB, polars and friends.
        #[arg(long, value_enum, default_value = "text")]
        export: ExportFormat,
        /// Keep secrets in the messages instead of replacing them with `<redacted:KIND>`.
        #[arg(long)]
        no_redact: bool,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Forced input formats (PATTERN=NAME), as --input-format.
        #[arg(long, value_name = "PATTERN=NAME")]
        format: Vec<String>,
    },
    /// Mine templates from every line of the inputs, as they are (no format parsing): the
    /// Drain-style miner the analysis uses for unexplained errors, on all lines.
    Templates {
        /// Input files or folders (walked recursively); `-` reads standard input.
        #[arg(required = true, value_name = "INPUTS")]
        inputs: Vec<PathBuf>,
        /// How many templates to print (most frequent first).
        #[arg(long, default_value_t = 50)]
        top: usize,
        /// Print JSON: {"lines": N, "templates": [{"template", "count", "example"}]}.
        #[arg(long)]
        json: bool,
        /// Worker threads for masking (default: all cores).
        #[arg(long, short = 'j')]
        threads: Option<usize>,
    },
    /// List the signal rules (id, gap, verdict, title), or validate a grammar folder.
    Rules {
        /// Print JSON: {"rules": [...]}.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the catalog as markdown: rules per file, links, fixes (docs/rules.md).
        #[arg(long)]
        markdown: bool,
        /// Validate DIR on top of the embedded grammar (TOML syntax, unknown fields,
        /// regexes, examples, signal ids, fix cycles); errors name file and line.
        #[arg(long, value_name = "DIR")]
        check: Option<PathBuf>,
        /// Grammar folders to add before listing. Repeatable.
        #[arg(long, value_name = "DIR")]
        grammars: Vec<PathBuf>,
    },
    /// Show, per input, the detected format, hosts, line accounting, time span and clock.
    Formats {
        #[command(flatten)]
        input: InputArgs,
        /// Print JSON: {"sources": [...]}.
        #[arg(long)]
        json: bool,
        /// Forced input formats (PATTERN=NAME), as --input-format.
        #[arg(long, value_name = "PATTERN=NAME")]
        format: Vec<String>,
    },
}

/// Verdicts `--fail-on` accepts.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum FailOn {
    /// Any incident whose verdict is `failure`.
    Failure,
}

/// Blog engines `--front-matter` accepts.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum FrontMatterArg {
    /// YAML front matter (`---`).
    Hugo,
    /// TOML front matter (`+++`).
    Zola,
    /// YAML front matter with `layout: post`.
    Jekyll,
}

impl From<FrontMatterArg> for gaplog::report::FrontMatter {
    fn from(f: FrontMatterArg) -> Self {
        match f {
            FrontMatterArg::Hugo => Self::Hugo,
            FrontMatterArg::Zola => Self::Zola,
            FrontMatterArg::Jekyll => Self::Jekyll,
        }
    }
}

/// Inputs smaller than this are read too quickly for a progress bar to help.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// A progress bar on stderr while inputs are parsed, when stderr is a terminal and the inputs
/// are large; no callback otherwise. The bar is created on the first update (sent before any
/// input is read), which carries the total size.
fn progress_bar() -> gaplog::Progress {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return gaplog::Progress::default();
    }
    let bar: std::sync::OnceLock<Option<indicatif::ProgressBar>> = std::sync::OnceLock::new();
    gaplog::Progress(Some(std::sync::Arc::new(
        move |u: gaplog::ProgressUpdate| {
            let bar = bar.get_or_init(|| {
                (u.bytes_total >= PROGRESS_MIN_BYTES).then(|| {
                    let b = indicatif::ProgressBar::new(u.bytes_total);
                    b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} reading {msg} inputs {wide_bar} {bytes}/{total_bytes} ({eta})",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                    // One large input reports only when done: keep the spinner and ETA alive.
                    b.enable_steady_tick(std::time::Duration::from_millis(120));
                    b
                })
            });
            if let Some(b) = bar {
                b.set_length(u.bytes_total);
                b.set_position(u.bytes_done);
                b.set_message(format!("{}/{}", u.inputs_done, u.inputs_total));
                if u.inputs_done == u.inputs_total {
                    b.finish_and_clear();
                }
            }
        },
    )))
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>).
fn use_color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A usage error: exit status 2.
#[derive(Debug)]
struct Usage(String);
impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Usage {}

fn split_kv(s: &str, what: &str) -> anyhow::Result<(String, String)> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| Usage(format!("{what} `{s}`: expected KEY=VALUE")).into())
}

fn options(a: &InputArgs, extra_formats: &[String]) -> anyhow::Result<gaplog::Options> {
    let mut o = gaplog::Options {
        threads: a.threads,
        grammars: a.grammars.clone(),
        ..Default::default()
    };
    o.ingest.max_decompressed = a.max_decompressed.saturating_mul(1 << 20);
    for f in a.input_format.iter().chain(extra_formats) {
        o.formats.push(split_kv(f, "--input-format")?);
    }
    o.clock.year = a.year;
    for t in &a.tz {
        let (p, z) = t.split_once('=').unwrap_or(("", t.as_str()));
        let zone: chrono_tz::Tz = z
            .parse()
            .map_err(|_| Usage(format!("--tz `{t}`: unknown time zone `{z}`")))?;
        o.clock.tz.push((p.to_string(), zone));
    }
    for b in &a.boot_time {
        let (k, v) = split_kv(b, "--boot-time")?;
        let (t, _) = gaplog::time::parse_rfc3339(v.as_bytes()).ok_or_else(|| {
            Usage(format!(
                "--boot-time `{b}`: expected an RFC 3339 time with zone"
            ))
        })?;
        o.clock.boot_time.push((k, t));
    }
    for s in &a.skew {
        let (k, v) = split_kv(s, "--skew")?;
        let secs: f64 = v
            .parse()
            .map_err(|_| Usage(format!("--skew `{s}`: expected seconds, e.g. node1=+40.5")))?;
        o.clock.skew.push((k, (secs * 1e9) as i64));
    }
    Ok(o)
}

fn all_unreadable(a: &gaplog::analysis::Analysis) -> bool {
    a.sources
        .iter()
        .all(|s| s.lines == 0 && !s.issues.is_empty())
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    match cli.cmd {
        Cmd::Analyze {
            input,
            format,
            out: out_dir,
            fail_on,
            front_matter,
            no_redact,
            timings,
        } => {
            let (forced, outputs): (Vec<String>, Vec<String>) =
                format.into_iter().partition(|f| f.contains('='));
            let mut o = options(&input, &forced)?;
            o.progress = progress_bar();
            let output = outputs.last().cloned().unwrap_or_else(|| "table".into());
            let started = std::time::Instant::now();
            let renderer =
                gaplog::report::renderer(&output).map_err(|e| Usage(format!("--format: {e}")))?;
            tune_allocator();
            let (mut analysis, tl) = gaplog::analyze(&input.inputs, &o)?;
            let t_render = std::time::Instant::now();
            if !no_redact {
                gaplog::report::redact::redact(&mut analysis);
            }
            let ropts = gaplog::report::RenderOptions {
                front_matter: front_matter.map(Into::into),
                color: renderer.name == "table" && use_color(),
                timeline_link: None,
            };
            if let Some(dir) = &out_dir {
                gaplog::report::write_dir(dir, &analysis, &ropts)
                    .with_context(|| format!("cannot write reports into {}", dir.display()))?;
            }
            out.write_all((renderer.render)(&analysis, &ropts).as_bytes())?;
            out.flush()?;
            if timings {
                let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1000.0;
                let render = ms(t_render);
                // Memory as the stage ended (resident, and the peak so far).
                for s in &analysis.timings.stages {
                    eprintln!(
                        "{:>12}: {:9.1} ms  rss {:6} MiB  peak {:6} MiB",
                        s.name,
                        s.ms,
                        s.rss_kib / 1024,
                        s.peak_kib / 1024
                    );
                }
                eprintln!("{:>12}: {render:9.1} ms", "render");
                eprintln!("{:>12}: {:9.1} ms", "total", ms(started));
                let t = &analysis.timings;
                // In the input's unit (kB below a megabyte), so that a small input does not
                // read 0.0 of 0.0.
                let (div, unit) = if t.input_bytes < 1_000_000 {
                    (1e3, "kB")
                } else {
                    (1e6, "MB")
                };
                eprintln!(
                    "{:>12}: {:9.1} {unit} of {:.1} {unit} input ({:.0} %)",
                    "text kept",
                    t.kept_bytes as f64 / div,
                    t.input_bytes as f64 / div,
                    100.0 * t.kept_bytes as f64 / t.input_bytes.max(1) as f64
                );
            }
            // The process ends here: freeing millions of events one by one would only
            // delay the exit; the OS takes the memory back at once.
            std::mem::forget(tl);
            if all_unreadable(&analysis) {
                eprintln!("gaplog: no input could be read");
                return Ok(ExitCode::from(2));
            }
            if matches!(fail_on, Some(FailOn::Failure))
                && gaplog::report::any_verdict(&analysis, gaplog::analysis::Verdict::Failure)
            {
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Timeline {
            input,
            export,
            no_redact,
            output,
            format,
        } => {
            let o = options(&input, &format)?;
            // The export has no field column.
            let (tl, _) = gaplog::load_keeping(&input.inputs, &o, gaplog::Keep::Messages)?;
            let keep = |_: &str| None;
            let scrub: &gaplog::timeline::Scrub = if no_redact {
                &keep
            } else {
                &gaplog::report::redact::redact_str
            };
            match output {
                Some(p) => {
                    let mut f = std::io::BufWriter::new(
                        std::fs::File::create(&p)
                            .with_context(|| format!("cannot create {}", p.display()))?,
                    );
                    gaplog::timeline::export(&tl, export, &mut f, scrub)?;
                    f.flush()?;
                }
                None => gaplog::timeline::export(&tl, export, &mut out, scrub)?,
            }
            // As for analyze: the OS frees the events at exit faster than drop would.
            std::mem::forget(tl);
        }
        Cmd::Templates {
            inputs,
            top,
            json,
            threads,
        } => {
            let text = templates(&inputs, top, json, threads)?;
            out.write_all(text.as_bytes())?;
        }
        Cmd::Rules {
            json,
            markdown,
            check,
            grammars,
        } => {
            let mut dirs = grammars;
            dirs.extend(check.iter().cloned());
            let catalog = match gaplog::signals::Catalog::with_dirs(&dirs) {
                Ok(c) => c,
                Err(e) if check.is_some() => {
                    eprintln!("{e}");
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => return Err(gaplog::Error::Grammar(e).into()),
            };
            let rules = catalog.listing();
            let text = if markdown {
                gaplog::signals::catalog_markdown(&catalog)
            } else if json {
                // A struct, not json!(), so the keys keep the documented order.
                #[derive(serde::Serialize)]
                struct Listing<'a> {
                    rules: &'a [gaplog::signals::RuleSummary],
                }
                let mut s = serde_json::to_string_pretty(&Listing { rules: &rules })?;
                s.push('\n');
                s
            } else if let Some(dir) = &check {
                format!(
                    "{}: ok ({} rules, {} links, {} fixes in total)\n",
                    dir.display(),
                    rules.len(),
                    catalog.playbook.links.len(),
                    catalog.playbook.fixes.len()
                )
            } else {
                let w = rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
                let mut s = String::new();
                for r in &rules {
                    s.push_str(&format!(
                        "{:<w$}  {:<23}  {:<8}  {}\n",
                        r.id,
                        r.gap.as_str(),
                        r.verdict.as_str(),
                        r.title
                    ));
                }
                s
            };
            out.write_all(text.as_bytes())?;
        }
        Cmd::Formats {
            input,
            json,
            format,
        } => {
            let o = options(&input, &format)?;
            let (tl, _) = gaplog::load_keeping(&input.inputs, &o, gaplog::Keep::Nothing)?;
            let sources = gaplog::source_summaries(&tl);
            if json {
                let v = serde_json::json!({ "sources": sources });
                let mut s = serde_json::to_string_pretty(&v)?;
                s.push('\n');
                out.write_all(s.as_bytes())?;
            } else {
                let a = gaplog::analysis::Analysis {
                    sources,
                    ..Default::default()
                };
                out.write_all(gaplog::report::sources_table(&a).as_bytes())?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `gaplog templates`: every line of every input through the template miner. Masking runs
/// in parallel over batches of lines; clustering is sequential, in input order.
fn templates(
    inputs: &[PathBuf],
    top: usize,
    json: bool,
    threads: Option<usize>,
) -> anyhow::Result<String> {
    use gaplog::incidents::unexplained::Miner;
    // Lines are taken a window at a time: bounded memory whatever the input's size.
    const WINDOW: usize = 1 << 16;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()?;
    let found = gaplog::ingest::discover(inputs);
    let opts = gaplog::ingest::IngestOptions::default();
    let mut miner: Miner<(u32, u32)> = Miner::default();
    let mut paths = Vec::new();
    let mut lines_total = 0u64;
    for (i, f) in found.iter().enumerate() {
        let src = gaplog::ingest::read(i as u32, f, &opts);
        for issue in &src.issues {
            eprintln!("gaplog: {}", issue.message);
        }
        let mut lines =
            gaplog::lines::Lines::new(&src.bytes, src.terminator).map(|l| (l.no, l.text));
        if pool.current_num_threads() == 1 {
            // One thread: mine on this one rather than hand each window to the pool's.
            for (no, t) in lines {
                lines_total += 1;
                miner.add_line(&gaplog::text::strip_ansi(t), None, (i as u32, no));
            }
            paths.push(src.path.clone());
            continue;
        }
        let mut window: Vec<(u32, &[u8])> = Vec::new();
        loop {
            window.clear();
            window.extend(lines.by_ref().take(WINDOW));
            if window.is_empty() {
                break;
            }
            lines_total += window.len() as u64;
            pool.install(|| {
                miner.add_par(
                    &window,
                    |(_, t)| gaplog::text::strip_ansi(t),
                    |(no, _)| (None, (i as u32, *no)),
                )
            });
        }
        paths.push(src.path.clone());
    }
    let ts = miner.templates();
    let mut o = String::new();
    if json {
        let list: Vec<_> = ts
            .iter()
            .take(top)
            .map(|t| {
                serde_json::json!({
                    "template": t.template,
                    "count": t.count,
                    "example": {"source": paths[t.example.0 as usize], "line": t.example.1},
                })
            })
            .collect();
        o = serde_json::to_string_pretty(&serde_json::json!({
            "lines": lines_total,
            "templates_total": ts.len(),
            "templates": list,
        }))?;
        o.push('\n');
    } else {
        o.push_str(&format!(
            "{} templates from {lines_total} lines (most frequent first)\n",
            ts.len()
        ));
        for t in ts.iter().take(top) {
            o.push_str(&format!(
                "{:>9}  {}  ({}:{})\n",
                t.count, t.template, paths[t.example.0 as usize], t.example.1
            ));
        }
    }
    Ok(o)
}

/// Sets two glibc malloc parameters for `analyze`: the mmap threshold fixed at its
/// initial 128 KiB, and no fastbins.
///
/// By default glibc raises the threshold to the size of every large block freed (up to
/// 32 MiB). After the first files are parsed, the per-file vectors of a few MiB (events,
/// digests, slim events) then come from the heap instead of their own mappings, and the
/// holes their frees leave between longer-lived blocks stay resident. With the threshold
/// fixed, a freed large block goes back to the kernel at once. Measured on the 1 GB bench
/// corpus (`docs/benchmarks.md`): peak RSS 399 → 351 MiB with default threads and 408 →
/// 338 MiB on one thread. `timeline --export` keeps the default: the export's columns are
/// large, short-lived blocks, and fresh mappings for them cost it 7 % of its time (7.5 →
/// 8.0 s at 1 GB) for 2 % less memory.
///
/// Fastbins defer the merging of freed small blocks until the next large request, which
/// then merges them all at once. A parse frees millions of small blocks (the fields and
/// decoded texts of the events whose text is dropped) between two large requests (the next
/// source's vectors); merged as they are freed they cost less: 3.35 → 3.29 s on one
/// thread, peak unchanged (paired runs, `docs/benchmarks.md`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    // SAFETY: `mallopt` only sets a malloc parameter, under malloc's own lock; it is called
    // before the analysis allocates its large blocks, and its result (0 on failure) only
    // means the default policy stays. `M_MXFAST` 0 empties no bin: it only stops new small
    // frees from going to the fastbins (glibc's documented way to disable them).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_MXFAST, 0);
    }
}

/// Other C libraries keep their own policy.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            // A reader that stopped early (`| head`) is not an error, however deep the
            // write error sits (polars wraps it in its own error type).
            let broken_pipe = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                    || matches!(
                        c.downcast_ref::<polars::error::PolarsError>(),
                        Some(polars::error::PolarsError::IO { error, .. })
                            if error.kind() == std::io::ErrorKind::BrokenPipe
                    )
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("gaplog: {e:#}");
            // Every error is 2, so that 1 keeps one meaning: `--fail-on failure` found one.
            ExitCode::from(2)
        }
    }
}

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

Exit status:
  0  the analysis ran
  1  with --fail-on failure: at least one incident is a failure
  2  usage error, or no input could be read";

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
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Analyze inputs: incidents, gaps, verdicts and the fix order.
    Analyze {
        #[command(flatten)]
        input: InputArgs,
        /// Output format on stdout: table, md, json or junit. A value PATTERN=NAME forces
        /// an input format instead (same as --input-format).
        #[arg(long, default_value = "table")]
        format: Vec<String>,
        /// Print the time spent per stage on stderr.
        #[arg(long)]
        timings: bool,
    },
    /// Print the merged timeline, or export it.
    Timeline {
        #[command(flatten)]
        input: InputArgs,
        /// Export format.
        #[arg(long, value_enum)]
        export: ExportFormat,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Forced input formats (PATTERN=NAME), as --input-format.
        #[arg(long, value_name = "PATTERN=NAME")]
        format: Vec<String>,
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
            timings,
        } => {
            let (forced, outputs): (Vec<String>, Vec<String>) =
                format.into_iter().partition(|f| f.contains('='));
            let o = options(&input, &forced)?;
            let output = outputs.last().cloned().unwrap_or_else(|| "table".into());
            let started = std::time::Instant::now();
            let (analysis, tl) = gaplog::analyze(&input.inputs, &o)?;
            let t_render = std::time::Instant::now();
            let text = match output.as_str() {
                "json" => gaplog::report::json(&analysis),
                "table" => gaplog::report::sources_table(&analysis),
                other => {
                    return Err(Usage(format!(
                        "--format `{other}`: expected table, md, json or junit"
                    ))
                    .into());
                }
            };
            out.write_all(text.as_bytes())?;
            out.flush()?;
            if timings {
                let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1000.0;
                let render = ms(t_render);
                for (stage, ms) in &analysis.timings.stages {
                    eprintln!("{stage:>12}: {ms:9.1} ms");
                }
                eprintln!("{:>12}: {render:9.1} ms", "render");
                eprintln!("{:>12}: {:9.1} ms", "total", ms(started));
            }
            // The process ends here: freeing millions of events one by one would only
            // delay the exit; the OS takes the memory back at once.
            std::mem::forget(tl);
            if all_unreadable(&analysis) {
                eprintln!("gaplog: no input could be read");
                return Ok(ExitCode::from(2));
            }
        }
        Cmd::Timeline {
            input,
            export,
            output,
            format,
        } => {
            let o = options(&input, &format)?;
            let (tl, _) = gaplog::load(&input.inputs, &o)?;
            match output {
                Some(p) => {
                    let mut f = std::io::BufWriter::new(
                        std::fs::File::create(&p)
                            .with_context(|| format!("cannot create {}", p.display()))?,
                    );
                    gaplog::timeline::export(&tl, export, &mut f)?;
                    f.flush()?;
                }
                None => gaplog::timeline::export(&tl, export, &mut out)?,
            }
            // As for analyze: the OS frees the events at exit faster than drop would.
            std::mem::forget(tl);
        }
        Cmd::Formats {
            input,
            json,
            format,
        } => {
            let o = options(&input, &format)?;
            let (tl, _) = gaplog::load(&input.inputs, &o)?;
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

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("gaplog: {e:#}");
            if e.downcast_ref::<Usage>().is_some() || e.downcast_ref::<gaplog::Error>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

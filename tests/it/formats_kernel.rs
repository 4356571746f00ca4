//! The kernel format on hand-written fixtures modelled on real reports of kernels 4.14 to
//! 6.1 (formats.md 2.1, 2.2, 2.5): OOM reports kept as one event with their fields while
//! unrelated lines interleave, every dmesg layout, and the clock stage aligning a dmesg
//! from a journal export of the same boot, with the duplicates removed.

use crate::formats_journal::{fixture_dir, parse};
use gaplog::event::{ClockMethod, Severity};

fn field(
    p: &gaplog::formats::Parsed,
    src: &gaplog::ingest::Source,
    i: usize,
    name: &str,
) -> String {
    String::from_utf8_lossy(
        p.events[i]
            .field(&p.fields, &p.atoms, name, &src.bytes)
            .unwrap_or(b"<none>"),
    )
    .into_owned()
}

fn first_line(p: &gaplog::formats::Parsed, src: &gaplog::ingest::Source, i: usize) -> String {
    let m = String::from_utf8_lossy(p.events[i].message.bytes(&src.bytes)).into_owned();
    m.lines().next().unwrap_or("").to_string()
}

#[test]
fn oom_6_1_interleaved_is_one_event() {
    let (src, p) = parse(&fixture_dir("kernel").join("oom-6.1-interleaved.dmesg"));
    let firsts: Vec<String> = (0..p.events.len())
        .map(|i| first_line(&p, &src, i))
        .collect();
    assert_eq!(
        firsts,
        [
            "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1",
            "Command line: BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro quiet",
            "e1000e 0000:00:1f.6 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None",
            "node invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0",
            "audit: type=1400 audit(1767225580.100:42): apparmor=\"DENIED\" operation=\"open\" profile=\"snap.lxd\" name=\"/proc/1/environ\" pid=999 comm=\"lxd\"",
            "usb 1-1: USB disconnect, device number 2",
            "e1000e 0000:00:1f.6 eth0: NIC Link is Down",
            "EXT4-fs (sda1): re-mounted. Quota mode: none.",
        ]
    );
    let o = 3;
    assert_eq!((p.events[o].line, p.events[o].end_line), (4, 36));
    assert_eq!(p.events[o].mono_us, Some(100_000_001));
    assert_eq!(p.events[o].clock, ClockMethod::Monotonic);
    for (name, want) in [
        ("oom.invoker", "node"),
        ("oom.victim_pid", "4242"),
        ("oom.victim_comm", "node"),
        ("oom.total_vm_kb", "4938268"),
        ("oom.anon_rss_kb", "1827156"),
        ("oom.cgroup", "/system.slice/node-app.service"),
        ("oom.constraint", "CONSTRAINT_NONE"),
    ] {
        assert_eq!(field(&p, &src, o, name), want, "{name}");
    }
    // the unstamped Mem-Info lines belong to the report, not to the audit line before them
    let m = String::from_utf8_lossy(p.events[o].message.bytes(&src.bytes)).into_owned();
    assert!(
        m.contains("\nactive_file:100 inactive_file:200 isolated_file:0\n"),
        "{m}"
    );
    assert!(m.ends_with(
        "oom_reaper: reaped process 4242 (node), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"
    ));
    assert_eq!(p.events[4].end_line, 14);
    assert_eq!(p.counts.parsed, 8);
    assert_eq!(p.counts.continuation, 37 - 8);
    assert_eq!(p.counts.unparsed, 0);
}

#[test]
fn older_and_cgroup_reports() {
    let (src, p) = parse(&fixture_dir("kernel").join("oom-4.19-two-line.dmesg-r"));
    assert_eq!(p.events.len(), 3);
    assert_eq!(p.events[1].severity, Severity::Warning);
    assert_eq!(
        field(&p, &src, 1, "oom.cgroup"),
        "/system.slice/mariadb.service"
    );
    assert_eq!(field(&p, &src, 1, "oom.victim_comm"), "mysqld");
    assert_eq!(field(&p, &src, 1, "oom.anon_rss_kb"), "452196");
    assert_eq!(
        first_line(&p, &src, 2),
        "IPv6: ADDRCONF(NETDEV_CHANGE): ens3: link becomes ready"
    );

    let (src, p) = parse(&fixture_dir("kernel").join("oom-4.14-sacrifice.kern.log"));
    assert_eq!(p.events.len(), 3);
    assert_eq!(p.atoms.get(p.events[2].unit), "sshd");
    assert_eq!(p.atoms.get(p.events[1].host), "ip-172-31-10-132");
    assert_eq!(p.events[1].clock, ClockMethod::NoYear);
    assert_eq!(p.events[1].mono_us, Some(329_112_718_596));
    assert_eq!(field(&p, &src, 1, "oom.invoker"), "unattended-upgr");
    assert_eq!(field(&p, &src, 1, "oom.victim_pid"), "23409");
    assert_eq!(field(&p, &src, 1, "oom.total_vm_kb"), "5370580");
    assert_eq!(field(&p, &src, 1, "oom.constraint"), "<none>");

    let (src, p) = parse(&fixture_dir("kernel").join("oom-5.15-cgroup.kmsg"));
    assert_eq!(p.events.len(), 2);
    assert_eq!(p.events[1].mono_us, Some(3_300_000_001));
    assert_eq!(field(&p, &src, 1, "oom.constraint"), "CONSTRAINT_MEMCG");
    assert_eq!(
        field(&p, &src, 1, "oom.cgroup"),
        "/system.slice/docker-3193ab.scope"
    );
    assert_eq!(field(&p, &src, 1, "oom.victim_comm"), "apk");
    assert_eq!(field(&p, &src, 1, "oom.anon_rss_kb"), "520432");
    // the ` SUBSYSTEM=cpu` dictionary line is continuation, not message
    assert!(!String::from_utf8_lossy(p.events[1].message.bytes(&src.bytes)).contains("SUBSYSTEM"));
}

#[test]
fn ctime_iso_and_noise() {
    let (src, p) = parse(&fixture_dir("kernel").join("ctime-x.dmesg"));
    assert_eq!(p.events.len(), 4);
    assert_eq!(p.events[0].severity, Severity::Notice);
    assert_eq!(p.events[2].severity, Severity::Warning);
    assert_eq!(p.events[3].clock, ClockMethod::LocalNoZone);
    assert_eq!(
        gaplog::time::rfc3339(p.events[3].time),
        "2026-03-25T09:05:01.000000Z"
    );
    assert_eq!(field(&p, &src, 3, "oom.victim_comm"), "java");

    let (src, p) = parse(&fixture_dir("kernel").join("iso-caller.dmesg"));
    assert_eq!(p.events[1].clock, ClockMethod::Exact);
    assert_eq!(
        gaplog::time::rfc3339(p.events[1].time),
        "2026-03-24T09:00:05.123456Z"
    );
    assert_eq!(
        gaplog::time::rfc3339(p.events[2].time),
        "2026-03-24T09:01:00.000001Z"
    );
    assert_eq!(
        first_line(&p, &src, 2),
        "NMI watchdog: Watchdog detected hard LOCKUP on cpu 2"
    );

    let (_, p) = parse(&fixture_dir("kernel").join("crlf-noise.dmesg"));
    assert_eq!(p.events.len(), 2);
    assert_eq!(p.counts.unparsed, 1);
    assert_eq!(p.unparsed_examples[0].line, 3);
    assert_eq!(p.unparsed_examples[0].text, "this is not a kernel line");
}

#[test]
fn dmesg_aligned_from_the_journal_of_its_boot_and_duplicates_removed() {
    let tl = gaplog::load(
        &[
            fixture_dir("mixed").join("cache1.export"),
            fixture_dir("kernel").join("oom-6.1-interleaved.dmesg"),
        ],
        &gaplog::Options::default(),
    )
    .unwrap()
    .0;
    let d = &tl.sources[1];
    // `Linux version` at 0.000000 is in both boots of cache1: ambiguous, so not used (it
    // used to be, and the note said "spread 7519922999 ms")
    assert!(
        d.clock_note.ends_with(
            "boot start from 2 kernel lines also in the journal of cache1 (spread 0 ms)"
        ),
        "{}",
        d.clock_note
    );
    for e in &d.events {
        assert_eq!(e.clock, ClockMethod::AlignedMonotonic);
        assert_eq!(d.parsed.atoms.get(e.host), "cache1");
        assert_eq!(d.parsed.atoms.get(e.boot), "a".repeat(32));
    }
    // EXT4 at printk 130 s: the boot started at 23:58:00 (journald received the kernel lines
    // 0.5 ms after printk)
    let ext4 = d.events.last().unwrap();
    assert_eq!(
        gaplog::time::rfc3339(ext4.time),
        "2026-01-01T00:00:10.000500Z"
    );
    // Linux version, link up and the OOM report are in both: the journal's copies stay
    assert_eq!(tl.duplicates, 3);
    let ooms: Vec<_> = tl
        .order
        .iter()
        .filter(|r| tl.message(**r).starts_with("node invoked oom-killer"))
        .collect();
    assert_eq!(ooms.len(), 1);
    assert!(tl.path(*ooms[0]).ends_with("mixed/cache1.export"));
    assert_eq!(tl.field(*ooms[0], "oom.victim_pid"), Some(&b"4242"[..]));
    assert_eq!(tl.event(*ooms[0]).clock, ClockMethod::Exact);
}

#[test]
fn unaligned_dmesgs_of_two_machines_are_not_duplicates() {
    // Regression: unaligned monotonic events all have time 0, and without a host the same
    // boot line of two machines was taken for one (and the same-instant pass was quadratic).
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("node-a.dmesg");
    let b = dir.path().join("node-b.dmesg");
    std::fs::write(
        &a,
        "[    0.000000] Linux version 6.1.0-18-amd64\n[    1.000000] a only\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "[    0.000000] Linux version 6.1.0-18-amd64\n[    2.000000] b only\n",
    )
    .unwrap();
    let tl = gaplog::load(&[a, b], &gaplog::Options::default())
        .unwrap()
        .0;
    assert_eq!(tl.duplicates, 0);
    assert_eq!(tl.order.len(), 4);
}

#!/usr/bin/env python3
"""Write the other sample sets: three-plus outages with different root causes, hosts, zones, kernels and
formats, and one quiet set. Deterministic (fixed seeds) except for the ids systemd-journal-remote picks.
Run: python3 samples/tools/make_sets.py [name ...]
"""

import json
import os
import sys
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gaplib import *  # noqa: F401,F403
from gaplib import A_BOLD_GREEN, A_RESET

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def out(root, rel, data):
    write(os.path.join(root, rel), data)


def runner_j(host, proc, t, level, msg, **fields):
    host.log(t, proc, runner_line(level, msg, fields), prio={"info": 6, "warning": 4, "error": 3}[level])


def routine(R, host, t0, t1, sysd, extra=()):
    """Routine lines every host has: sshd logins, timers, timesyncd, nix-daemon connections, cron."""
    logind = Proc("systemd-logind", 702, unit="systemd-logind.service", transport="journal")
    sess = [R.randrange(100, 900)]
    for t in every(R, t0, t1, 150, 0.3):  # backup/monitoring logins: the bulk of routine lines
        p = Proc("sshd", R.randrange(20000, 60000), transport="syslog", facility=4, unit="sshd.service")
        sess[0] += 1
        n, dt = sess[0], R.randrange(2_000_000, 9_000_000)
        host.log(t, p, "Accepted publickey for backup from 10.0.4.%d port %d ssh2: ED25519 SHA256:%s" % (R.randrange(2, 200), R.randrange(30000, 60000), R.b64url(43)))
        host.log(t + 3000, p, "pam_unix(sshd:session): session opened for user backup(uid=1001) by (uid=0)")
        host.log(t + 9000, logind, "New session %d of user backup." % n)
        host.log(t + 12000, sysd, "Started session-%d.scope - Session %d of User backup." % (n, n), extra=[("UNIT", "session-%d.scope" % n)])
        host.log(t + dt, p, "pam_unix(sshd:session): session closed for user backup")
        host.log(t + dt + 4000, logind, "Session %d logged out. Waiting for processes to exit." % n)
        host.log(t + dt + 9000, sysd, "session-%d.scope: Deactivated successfully." % n, extra=[("UNIT", "session-%d.scope" % n)])
        host.log(t + dt + 11000, logind, "Removed session %d." % n)
    for t in every(R, t0, t1, 1800, 0.1):
        host.log(t, Proc("systemd-timesyncd", 611, uid=998, unit="systemd-timesyncd.service", transport="journal"),
                 "Contacted time server 10.0.0.1:123 (ntp.lan).")
    for t in every(R, t0, t1, 900, 0.05):
        u = [("UNIT", "sysstat-collect.service")]
        host.log(t, sysd, "Starting sysstat-collect.service - system activity accounting tool...", extra=u)
        host.log(t + 90_000, sysd, "sysstat-collect.service: Deactivated successfully.", extra=u)
        host.log(t + 91_000, sysd, "Finished sysstat-collect.service - system activity accounting tool.", extra=u)
    for t in every(R, t0, t1, 300, 0.1):
        c = Proc("CRON", R.randrange(30000, 60000), transport="syslog", facility=9, unit="cron.service")
        host.log(t, c, "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)")
    for proc, period, fn in extra:
        for t in every(R, t0, t1, period, 0.4):
            host.log(t, proc, fn(t))


def web_trace(lines):
    """A trace copied from the GitLab web UI: no ANSI, no markers, section headers followed by durations."""
    return "\n".join(lines) + "\n"


# =============================================================================================
# (a) memcg OOM of nix-daemon on a 4.19 builder -> CI cannot reach the daemon socket
# =============================================================================================
def set_memcg():
    name = "memcg-nixdaemon-2025-11-14"
    root = os.path.join(SAMPLES, name)
    R = Rng(20251114)
    NY = ZoneInfo("America/New_York")
    T = lambda h, m, s=0, f=0: us(2025, 11, 14, h, m, s, f)
    t0, t1 = T(12, 0), T(14, 40)
    h = Host(R, "builder-02", R.hexs(32), R.hexs(32), 2_731_000, us(2025, 11, 2, 9, 41, 7, 118_000))
    sysd = Proc("systemd", 1, transport="journal", unit="init.scope", slice_="-.slice")
    nixd = Proc("nix-daemon", 803, unit="nix-daemon.service")
    runner = Proc("gitlab-runner", 911, uid=999, unit="gitlab-runner.service")
    kern = []

    def kline(t, text, prio=6, mono=None):
        mono = h.mono(t) if mono is None else mono
        kern.append((mono, text, prio))
        h.kernel(mono, text, prio)

    rlog = []  # gitlab-runner --log-format text file (its own clock = host clock, local zone)

    def rl(t, level, msg, **f):
        rlog.append((t, logrus_text(rfc3339nano(h.clock(t), NY, R), level, msg, f)))
        h.log(t, runner, logrus_text(rfc3339nano(h.clock(t), NY, R), level, msg, f), prio={"info": 6, "warning": 4, "error": 3}[level])

    routine(R, h, t0, t1, sysd, extra=[
        (nixd, 120, lambda t: "accepted connection from pid %d, user gitlab-runner" % R.randrange(100000, 300000)),
    ])
    for t in every(R, t0, t1, 240, 0.3):
        kline(t, "audit: type=1400 audit(%d.%03d:%d): apparmor=\"STATUS\" operation=\"profile_replace\" profile=\"unconfined\" name=\"nvidia_modprobe\" pid=%d comm=\"apparmor_parser\"" % (h.clock(t) // 10 ** 6, R.randrange(1000), R.randrange(100, 999), R.randrange(1000, 9000)), 5)
    REPO = "https://gitlab.example.org/platform/images.git"
    jobs = iter(range(88190, 88210))
    for t in every(R, t0, T(12, 38), 420, 0.3):
        j = next(jobs)
        rl(t, "info", "Checking for jobs... received", job=j, repo_url=REPO, runner="xY7pQ2rL")
        rl(t + 60_000_000, "info", "Job succeeded", duration_s="%.6f" % R.uniform(50, 70), job=j, project=311, runner="xY7pQ2rL")
        rl(t + 60_400_000, "info", "Submitting job to coordinator...ok", code=200, job=j, runner="xY7pQ2rL", status="200 OK")
    # the big build
    rl(T(12, 40, 3), "info", "Checking for jobs... received", job=88210, repo_url=REPO, runner="xY7pQ2rL")
    h.log(T(12, 40, 9), nixd, "accepted connection from pid 231877, user gitlab-runner")
    LIMIT = 8 * 1024 * 1024
    ooms = []
    for k, (tt, pid) in enumerate([(T(13, 5, 12, 402_118), 803), (T(13, 7, 41, 90_777), 240511), (T(13, 9, 55, 660_001), 240980)]):
        tasks = [task_row(pid, 0, 1_620_000, 1_540_000 - k * 10000, "nix-daemon"),
                 task_row(pid + 41, 30001, 420_000, 380_000, "cc1plus"), task_row(pid + 57, 30002, 401_000, 362_000, "cc1plus"),
                 task_row(pid + 63, 30003, 90_000, 41_000, "ld.lld")]
        blk = oom_block(R, kernel="4.19.0-27-amd64", comm="cc1plus", pid=pid + 41, uid=30001, tasks=tasks, victim=0, era="4.19",
                        memcg="/system.slice/nix-daemon.service", task_memcg="/system.slice/nix-daemon.service",
                        memcg_info=(LIMIT, LIMIT, 184_221 + k * 9000), constraint="CONSTRAINT_MEMCG",
                        hw="Supermicro SYS-5019C-M/X11SCM-F, BIOS 1.9 09/16/2022", cpu=5)
        m = h.mono(tt)
        for i, (text, prio) in enumerate(blk):
            kline(tt, text, prio, mono=m + i * 17)
        ooms.append(tt)
        U = [("UNIT", "nix-daemon.service")]
        h.log(tt + 90_000, sysd, "nix-daemon.service: Main process exited, code=killed, status=9/KILL", prio=5, extra=U)
        h.log(tt + 91_000, sysd, "nix-daemon.service: Failed with result 'signal'.", prio=4, extra=U)
        if k < 2:
            h.log(tt + 100_000, sysd, "nix-daemon.service: Service RestartSec=100ms expired, scheduling restart.", extra=U)
            h.log(tt + 101_000, sysd, "Started Nix Daemon.", extra=U)
            nixd = Proc("nix-daemon", (240511, 240980)[k], unit="nix-daemon.service")
            h.new_invocation("nix-daemon.service")
            h.log(tt + 30_000_000, nixd, "accepted connection from pid 231877, user gitlab-runner")
        else:
            h.log(tt + 100_000, sysd, "nix-daemon.service: Start request repeated too quickly.", prio=4, extra=U)
            h.log(tt + 101_000, sysd, "nix-daemon.service: Failed with result 'start-limit-hit'.", prio=4, extra=U)
            h.log(tt + 102_000, sysd, "Failed to start Nix Daemon.", prio=3, extra=U)
            h.log(tt + 103_000, sysd, "nix-daemon.socket: Failed with result 'service-start-limit-hit'.", prio=4, extra=[("UNIT", "nix-daemon.socket")])
    rl(ooms[2] + 2_000_000, "warning", "Job failed: exit status 1", duration_s="1793.004118", job=88210, project=311, runner="xY7pQ2rL")
    for j, tt in [(88211, T(13, 14, 2)), (88212, T(13, 17, 40)), (88213, T(13, 21, 5))]:
        rl(tt, "info", "Checking for jobs... received", job=j, repo_url=REPO, runner="xY7pQ2rL")
        rl(tt + 6_000_000, "warning", "Job failed: exit status 1", duration_s="%.6f" % R.uniform(5, 7), job=j, project=311, runner="xY7pQ2rL")
    sudo = Proc("sudo", 250111, transport="syslog", facility=10, unit="session-812.scope", slice_="user-1000.slice")
    for tt, c in [(T(13, 41, 2), "/usr/bin/systemctl set-property nix-daemon.service MemoryLimit=12G"),
                  (T(13, 41, 30), "/usr/bin/sed -i s/^max-jobs = .*/max-jobs = 2/ /etc/nix/nix.conf"),
                  (T(13, 41, 51), "/usr/bin/systemctl reset-failed nix-daemon.service nix-daemon.socket"),
                  (T(13, 41, 58), "/usr/bin/systemctl start nix-daemon.socket")]:
        h.log(tt, sudo, "   ops : TTY=pts/0 ; PWD=/home/ops ; USER=root ; COMMAND=" + c, prio=5)
    h.log(T(13, 41, 58, 300_000), sysd, "Listening on Nix Daemon Socket.", extra=[("UNIT", "nix-daemon.socket")])
    nixd = Proc("nix-daemon", 252003, unit="nix-daemon.service")
    for j, tt in [(88215, T(13, 50, 20)), (88216, T(14, 3, 7)), (88218, T(14, 20, 44))]:
        rl(tt, "info", "Checking for jobs... received", job=j, repo_url=REPO, runner="xY7pQ2rL")
        h.log(tt + 5_000_000, nixd, "accepted connection from pid %d, user gitlab-runner" % R.randrange(250000, 260000))
        rl(tt + 9 * 60_000_000, "info", "Job succeeded", duration_s="%.6f" % R.uniform(530, 560), job=j, project=311, runner="xY7pQ2rL")
    # write
    j = Journal(h.export_bytes())
    out(root, "builder-02/journal.json", j.render("json"))
    j.close()
    kern.sort()
    out(root, "builder-02/dmesg-T.txt", dmesg_lines(kern, "ctime", h.boot_realtime_us, NY))
    kl = []
    for mono, text, _ in kern:  # rsyslog traditional format (imklog keeps the printk stamp); rotated at 13:00 local
        t = h.boot_realtime_us + mono + R.randrange(200, 3000)
        if t < h.clock(T(13, 0)):
            continue
        d = to_dt(t, NY)
        for line in text.split("\n"):
            kl.append("%s %2d %s builder-02 kernel: %s %s" % (d.strftime("%b"), d.day, d.strftime("%H:%M:%S"), dmesg_ts(mono), line))
    out(root, "builder-02/kern.log", "\n".join(kl) + "\n")
    rlog.sort(key=lambda x: x[0])
    out(root, "builder-02/gitlab-runner.log", "".join(l + "\n" for _, l in rlog))
    big = ["Running with gitlab-runner 16.5.0 (853330f9)", "  on builder-02 xY7pQ2rL, system ID: s_3c0b1a2f9e8d", "",
           'Preparing the "shell" executor  00:00', "Using Shell (bash) executor...", "",
           "Preparing environment  00:00", "Running on builder-02...", "", "Getting source from Git repository  00:02",
           "Fetching changes with git depth set to 20...", "Checking out 6a1f0c2d as detached HEAD (ref is main)...", "",
           'Executing "step_script" stage of the job script  29:51',
           "$ nix build -L .#packages.x86_64-linux.chromium-custom --max-jobs 6 --cores 0"]
    big += ["chromium-custom> [%d/41232] CXX obj/third_party/blink/renderer/core/core/%s.o" % (n, R.choice(["layout_block", "style_resolver", "html_parser", "v8_binding"])) for n in range(18302, 18330, 3)]
    big += ["error: unexpected end-of-file",
            "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused", "",
            "Cleaning up project directory and file based variables  00:00", "", "ERROR: Job failed: exit status 1"]
    out(root, "ci/job-88210.txt", web_trace(big))
    small = ["Running with gitlab-runner 16.5.0 (853330f9)", "  on builder-02 xY7pQ2rL, system ID: s_3c0b1a2f9e8d", "",
             'Preparing the "shell" executor  00:00', "Using Shell (bash) executor...", "",
             'Executing "step_script" stage of the job script  00:01', "$ nix flake check",
             "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused", "",
             "Cleaning up project directory and file based variables  00:00", "", "ERROR: Job failed: exit status 1"]
    out(root, "ci/job-88213.txt", web_trace(small))
    E = Evidence(root)
    JS, DT, KL, GL = "builder-02/journal.json", "builder-02/dmesg-T.txt", "builder-02/kern.log", "builder-02/gitlab-runner.log"
    for row in [("big build starts", GL, "job=88210"), ("memcg OOM 1 header", DT, "cc1plus invoked oom-killer"),
                ("memcg limit reached", DT, "memory: usage 8388608kB, limit 8388608kB"),
                ("OOM summary (4.19)", DT, "oom-kill:constraint=CONSTRAINT_MEMCG"),
                ("4.19 two-line kill", DT, "Memory cgroup out of memory: Kill process 803 (nix-daemon)"),
                ("4.19 two-line kill", DT, "Killed process 803 (nix-daemon)"),
                ("same kernel record in kern.log (printk stamp)", KL, "Killed process 240511 (nix-daemon)"),
                ("same kernel record in the journal", JS, "Killed process 240511 (nix-daemon)"),
                ("daemon restarts", JS, "nix-daemon.service: Main process exited, code=killed, status=9/KILL"),
                ("third OOM: start limit", JS, "nix-daemon.service: Failed with result 'start-limit-hit'."),
                ("socket gone", JS, "nix-daemon.socket: Failed with result 'service-start-limit-hit'."),
                ("build dies", "ci/job-88210.txt", "error: unexpected end-of-file"),
                ("CI cannot connect", "ci/job-88213.txt", "cannot connect to socket at '/nix/var/nix/daemon-socket/socket'"),
                ("runner sees failures", GL, 'msg="Job failed: exit status 1" duration_s=5'),
                ("fix: memory limit", JS, "MemoryLimit=12G"), ("fix: fewer jobs", JS, "max-jobs = 2"),
                ("fix: socket back", JS, "Listening on Nix Daemon Socket."),
                ("recovered", GL, "job=88218")]:
        E.add(*row)
    readme = """# %s: memcg OOM of nix-daemon on a 4.19 builder

**Story.** `builder-02` (Debian 10, kernel 4.19.0-27-amd64, cgroup v1, Nix 2.18, gitlab-runner 16.5 shell
executor, local zone America/New_York = EST, clock 2.7 s ahead) runs `nix-daemon.service` with
`MemoryLimit=8G`. On 2025-11-14 job 88210 builds a custom Chromium with `--max-jobs 6 --cores 0`. The
builders run inside the daemon's cgroup; from 13:05 UTC the memcg OOM killer kills `nix-daemon` three
times in five minutes; systemd's start limit trips and takes `nix-daemon.socket` down with it. Every
later job fails at once with `cannot connect to socket ... Connection refused`. At 13:41 the operator
raises the limit, lowers `max-jobs`, resets and restarts the socket; jobs succeed again.

## Files
| file | format |
| --- | --- |
| `builder-02/journal.json` | `journalctl -o json` (real, systemd 252; keys then sorted, because journalctl's order depends on the file's hash key); kernel records have `_SOURCE_MONOTONIC_TIMESTAMP`; runner lines are logrus text inside MESSAGE |
| `builder-02/dmesg-T.txt` | `dmesg -T` (ctime, local EST, repeated per line of a multi-line record) |
| `builder-02/kern.log` | rsyslog traditional `Nov 14 08:05:12 builder-02 kernel: [ secs.usec] text`, rotated: starts 13:00 UTC |
| `builder-02/gitlab-runner.log` | gitlab-runner `--log-format text` (logrus, `time="...-05:00"`) |
| `ci/job-88210.txt`, `ci/job-88213.txt` | traces copied from the GitLab web page: no ANSI, no section markers, no timestamps; section headers carry durations |

## Order (true UTC)
12:40 job 88210 starts; 13:05:12, 13:07:41, 13:09:55 memcg OOM kills of nix-daemon (4.19 two-line kill
format, cgroup-v1 `memory+swap`/`kmem` lines); 13:09:55 start-limit-hit, socket failed; 13:14-13:21 jobs
88211-88213 fail in seconds; 13:41 fix; 13:50-14:29 jobs 88215-88218 succeed.

## Evidence (file:line)
%s

## What a correct analysis concludes
One incident, gap **declared vs operational** (the declared memory limit and parallelism do not fit the
build; the OOM kills and the dead socket are operational state Nix cannot see): root cause memcg OOM in
`/system.slice/nix-daemon.service`; the socket failures in CI are consequences, not a separate incident.
Verdict: failure. Fix order: `restart-nix-daemon-socket` (builder-02, now), `limit-build-parallelism`
(builder-02 `/etc/nix/nix.conf` max-jobs/cores), `raise-nix-daemon-memory-limit` (builder-02
`nix-daemon.service`). No expected errors; no secrets; no unparseable lines planted. Clock: dmesg -T is
boot time + monotonic in EST; kern.log has no year and no zone (EST; year from context).
""" % (name, E.table())
    out(root, "README.md", readme)


# =============================================================================================
# (b) /nix full on the cache host over New Year (JST): atticd's sqlite and storage fail
# =============================================================================================
def set_diskfull():
    name = "diskfull-2024-12-31"
    root = os.path.join(SAMPLES, name)
    R = Rng(20241231)
    JST = ZoneInfo("Asia/Tokyo")
    T = lambda h, m, s=0, f=0: us(2024, 12, 31, h, m, s, f)
    t0, t1 = T(13, 30), T(16, 40)
    c = Host(R, "cache-01", R.hexs(32), R.hexs(32), -830_000, us(2024, 12, 9, 2, 0, 41, 900_000))
    sysd = Proc("systemd", 1, transport="journal", unit="init.scope", slice_="-.slice")
    atd = Proc("atticd", 1204, uid=61204, unit="atticd.service")
    nixd = Proc("nix-daemon", 977, unit="nix-daemon.service")
    kern = []

    def kline(t, text, prio=6):
        m = c.mono(t)
        kern.append((m, text, prio))
        c.kernel(m, text, prio)

    def ev(t, level, target, msg, fields=(), spans=(), trace=None):
        c.log(t, atd, tracing_line(c.clock(t), level, target, msg, fields, spans), prio={"ERROR": 3, "INFO": 6, "DEBUG": 7, "WARN": 4}[level])
        for l in trace or ():
            c.log(t, atd, l, prio=3)

    routine(R, c, t0, t1, sysd, extra=[(nixd, 300, lambda t: "accepted connection from pid %d, user root (trusted)" % R.randrange(9000, 90000))])
    for t in every(R, t0, t1, 90, 0.3):
        ev(t, "INFO", "attic_server::api::binary_cache", "Received request for %s.narinfo" % R.nix32(), spans=())
    for t in every(R, t0, t1, 3600, 0.01):
        ev(t, "INFO", "attic_server::gc", "Running garbage collection...")
        ev(t + 4000, "INFO", "attic_server::gc", "Found 0 caches subject to time-based garbage collection")
    for t in every(R, t0, t1, 180, 0.3):
        kline(t, "[UFW BLOCK] IN=enp1s0 OUT= MAC=%s SRC=10.0.4.%d DST=10.0.4.10 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=%d DPT=9100 WINDOW=0 RES=0x00 RST URGP=0"
              % (":".join(R.hexs(2) for _ in range(14)), R.randrange(2, 200), R.randrange(30000, 60000)), 4)
    tf = T(14, 21, 33, 40_122)
    kline(tf, "EXT4-fs (nvme0n1p3): Delayed block allocation failed for inode 2883612 at logical offset 1024 with max blocks 2048 with error 28", 2)
    kline(tf + 200, "EXT4-fs (nvme0n1p3): This should not happen!! Data will be lost", 2)
    kline(tf + 350, "", 2)
    up = ("attic_server::api::v1::upload_path::upload_path", None, "server/src/api/v1/upload_path.rs", 125)
    req = lambda m, u: ("tower_http::trace::make_span::request", "method=%s uri=%s version=HTTP/1.1" % (m, u), "/build/attic-0.1.0-vendor/tower-http-0.6.11/src/trace/make_span.rs", 109)
    for t in every(R, tf + 100_000, T(15, 41), 40, 0.5):
        if R.random() < 0.5:
            ev(t, "ERROR", "attic_server::error", "Storage error: No space left on device (os error 28)", trace=spantrace([up, req("PUT", "/_api/v1/upload-path")]))
        else:
            nar = R.nix32()
            ev(t, "ERROR", "attic_server::error", "Database error: Execution Error: error returned from database: (code: 13) database or disk is full",
               trace=spantrace([("attic_server::api::binary_cache::get_store_path_info", None, "server/src/api/binary_cache.rs", 118), req("GET", "/main/%s.narinfo" % nar)]))
        ev(t + 700, "ERROR", "tower_http::trace::on_failure", "response failed", (("classification", "Status code: 500 Internal Server Error"), ("latency", "%d ms" % R.randrange(1, 40))))
    upg = Proc("nixos-upgrade", 311022, unit="nixos-upgrade.service")
    tu = T(15, 0, 2)
    c.log(tu - 10_000, sysd, "Starting nixos-upgrade.service - NixOS Upgrade...", extra=[("UNIT", "nixos-upgrade.service")])
    c.log(tu + 40_000_000, upg, "error: writing to file: No space left on device", prio=3)
    c.log(tu + 40_100_000, sysd, "nixos-upgrade.service: Main process exited, code=exited, status=1/FAILURE", prio=5, extra=[("UNIT", "nixos-upgrade.service")])
    c.log(tu + 40_101_000, sysd, "nixos-upgrade.service: Failed with result 'exit-code'.", prio=4, extra=[("UNIT", "nixos-upgrade.service")])
    c.log(tu + 40_102_000, sysd, "Failed to start nixos-upgrade.service - NixOS Upgrade.", prio=3, extra=[("UNIT", "nixos-upgrade.service")])
    sudo = Proc("sudo", 320441, transport="syslog", facility=10, unit="session-77.scope", slice_="user-1000.slice")
    for tt, cmd in [(T(15, 38, 10), "/run/current-system/sw/bin/df -h /nix /var/lib/atticd"),
                    (T(15, 39, 2), "/run/current-system/sw/bin/nix-collect-garbage --delete-older-than 14d"),
                    (T(15, 46, 30), "/run/current-system/sw/bin/systemctl restart atticd.service")]:
        c.log(tt, sudo, "kenji : TTY=pts/0 ; PWD=/home/kenji ; USER=root ; COMMAND=" + cmd, prio=5)
    c.log(T(15, 46, 20), Proc("nix-collect-garbage", 320501, unit="session-77.scope", slice_="user-1000.slice"), "3211 store paths deleted, 48213.07 MiB freed")
    c.log(T(15, 46, 31), sysd, "Stopping atticd.service - Attic Binary Cache Server...", extra=[("UNIT", "atticd.service")])
    c.log(T(15, 46, 32), sysd, "Started atticd.service - Attic Binary Cache Server.", extra=[("UNIT", "atticd.service")])
    atd = Proc("atticd", 321002, uid=61204, unit="atticd.service")
    c.new_invocation("atticd.service")
    for l in ["Attic Server 0.1.0 (release)", "Running migrations...", "Starting API server...", "Listening on [::]:8080..."]:
        c.log(T(15, 46, 33), atd, l)
    # ci-runner-3: JSON runner log, CR-only trace
    rj = []
    RT = "Zk3Tq9Wm"
    off_r = -1_520_000
    rl = lambda t, lvl, msg, **f: rj.append((t, logrus_json(iso_nano_z(t + off_r, R), lvl, msg, dict(f, runner=RT))))
    jobs = iter(range(5100, 5120))
    for t in every(R, t0, T(14, 0), 600, 0.3):
        j = next(jobs)
        rl(t, "info", "Checking for jobs... received", job=j, repo_url="https://git.example.jp/infra/fleet.git")
        rl(t + 90_000_000, "info", "Job succeeded", duration_s=round(R.uniform(80, 100), 6), job=j, project=9)
    for t in every(R, t0, t1, 30, 0.2):
        if R.random() < 0.3:
            rl(t, "info", "Appending trace to coordinator...ok", code=202, job=5120, status="202 Accepted", **{"update-interval": "3s"}) if T(14, 5) < t < T(14, 30) else None
    rl(T(14, 5, 1), "info", "Checking for jobs... received", job=5120, repo_url="https://git.example.jp/infra/fleet.git")
    rl(T(14, 29, 40), "info", "Job succeeded", duration_s=1479.2, job=5120, project=9)
    tr = Trace(R, clock_offset_us=off_r)
    tr.at(T(14, 40, 12))
    rl(tr.t - 500_000, "info", "Checking for jobs... received", job=5121, repo_url="https://git.example.jp/infra/fleet.git")
    tr.runner("Running with gitlab-runner 17.6.0 (374d34fd)")
    tr.runner("  on ci-runner-3 %s, system ID: s_0f9e8d7c6b5a" % RT)
    tr.section_start("prepare_executor", 'Preparing the "shell" executor')
    tr.runner("Using Shell (bash) executor...")
    tr.section_end("prepare_executor")
    tr.section_start("step_script", 'Executing "step_script" stage of the job script')
    tr.cmd("nix build .#nixosConfigurations.edge-07.config.system.build.toplevel")
    nar = R.nix32()
    for ms in (271, 603, 1247):
        tr.line("warning: error: unable to download 'http://cache-01.lan:8080/main/%s.narinfo': HTTP error 500; retrying in %d ms" % (nar, ms), "E")
        tr.adv(ms)
    tr.line("error: unable to download 'http://cache-01.lan:8080/main/%s.narinfo': HTTP error 500" % nar, "E")
    tr.line("", "E")
    tr.line("       response body:", "E")
    tr.line("", "E")
    tr.line('       {"code":500,"error":"InternalServerError","message":"The server encountered an internal error or misconfiguration."}', "E")
    drv = R.store("edge-agent-3.1.4.drv")
    tr.line("error: some substitutes for the outputs of derivation '%s' failed (usually happens due to networking issues); try '--fallback' to build derivation from source " % drv, "E")
    tr.section_end("step_script")
    tr.section_start("cleanup_file_variables", "Cleaning up project directory and file based variables")
    tr.section_end("cleanup_file_variables")
    tr.error("Job failed: exit code 1")
    rl(tr.t, "warning", "Job failed: exit code 1", duration_s=round((tr.t - T(14, 40, 12)) / 1e6, 6), exit_code=1, failure_reason="script_failure", job=5121, project=9, **{"job-status": "failed"})
    out(root, "ci-runner-3/jobs/5121.log", tr.bytes().replace(b"\n", b"\r"))
    rl(T(15, 10, 3), "info", "Checking for jobs... received", job=5123, repo_url="https://git.example.jp/infra/fleet.git")
    rl(T(15, 10, 41), "warning", "Job failed: exit code 1", duration_s=38.1, exit_code=1, failure_reason="script_failure", job=5123, project=9, **{"job-status": "failed"})
    rl(T(15, 55, 9), "info", "Checking for jobs... received", job=5125, repo_url="https://git.example.jp/infra/fleet.git")
    rl(T(15, 58, 50), "info", "Job succeeded", duration_s=221.4, job=5125, project=9)
    rj.sort(key=lambda x: x[0])
    out(root, "ci-runner-3/gitlab-runner.json.log", "".join(l + "\n" for _, l in rj))
    j = Journal(c.export_bytes())
    out(root, "cache-01/journal.short", j.render("short", tz="Asia/Tokyo"))
    j.close()
    kern.sort()
    out(root, "cache-01/dmesg-iso.txt", dmesg_lines(kern, "iso", c.boot_realtime_us, JST))
    E = Evidence(root)
    JS, DI, RJ, TR = "cache-01/journal.short", "cache-01/dmesg-iso.txt", "ci-runner-3/gitlab-runner.json.log", "ci-runner-3/jobs/5121.log"
    for row in [("GC configured without retention", JS, "Found 0 caches subject to time-based garbage collection"),
                ("disk full (kernel)", DI, "Delayed block allocation failed"), ("disk full (kernel, journal)", JS, "This should not happen!! Data will be lost"),
                ("atticd storage", JS, "No space left on device (os error 28)"), ("atticd sqlite", JS, "(code: 13) database or disk is full"),
                ("span trace continuation", JS, "attic_server::api::binary_cache::get_store_path_info"),
                ("500 classification", JS, "Status code: 500 Internal Server Error"),
                ("auto-upgrade fails after midnight JST", JS, "error: writing to file: No space left on device"),
                ("CI: 500 retries (CR-only file)", TR, "HTTP error 500; retrying in 271 ms"),
                ("CI: substitution fails", TR, "some substitutes for the outputs of derivation"),
                ("CI: job fails", RJ, '"job":5121,"job-status":"failed","level":"warning","msg":"Job failed: exit code 1"'),
                ("fix: GC", JS, "nix-collect-garbage --delete-older-than 14d"), ("freed", JS, "48213.07 MiB freed"),
                ("atticd restarted", JS, "Listening on [::]:8080..."), ("recovered", RJ, '"job":5125,"level":"info","msg":"Job succeeded"')]:
        E.add(*row)
    readme = """# %s: /nix full on the cache host over New Year

**Story.** `cache-01` (NixOS, kernel 6.1, zone Asia/Tokyo = UTC+9, clock 0.83 s behind) serves atticd
with *local* storage on the same ext4 volume as `/nix`; atticd's GC runs hourly but finds no cache with a
retention period, so nothing is ever collected. The nightly fleet job 5120 (ci-runner-3) pushes ~6 GB.
At 23:21:33 JST on Dec 31 (14:21:33 UTC) the volume is full: ext4 loses a delayed allocation, every upload
fails with `No space left on device`, and atticd's sqlite cannot even bump `last_accessed_at` on a narinfo
GET (`database or disk is full`), so *reads* return 500 too. Jobs 5121 and 5123 on ci-runner-3 cannot
substitute and fail. After midnight the host's own `nixos-upgrade.service` fails on the full disk. At
00:39 JST the operator collects garbage, restarts atticd; job 5125 succeeds.

## Files
| file | format |
| --- | --- |
| `cache-01/journal.short` | `journalctl -o short`, `TZ=Asia/Tokyo`: **no year**, the log rolls over `Dec 31` -> `Jan 01` |
| `cache-01/dmesg-iso.txt` | `dmesg --time-format iso` (`2024-12-31T23:21:33,461228+09:00`, comma) |
| `ci-runner-3/gitlab-runner.json.log` | gitlab-runner `--log-format json` (logrus JSON, RFC3339Nano UTC; clock 1.52 s behind) |
| `ci-runner-3/jobs/5121.log` | raw trace whose line ends were turned into **CR only** (no LF anywhere) |

## Order (true UTC)
13:30 start; 14:05-14:29 job 5120 pushes; 14:21:33 disk full; 14:40 job 5121 fails (500 on narinfo);
15:00-15:00:42 nixos-upgrade fails (00:00 JST, next year); 15:10 job 5123 fails; 15:39 GC frees 47 GiB;
15:46 atticd restarted; 15:55 job 5125 succeeds.

## Evidence (file:line; the CR-only file counts CR as the line end there)
%s

## What a correct analysis concludes
One incident, gap **declared vs operational** (disk usage is operational state; the declared GC has no
retention). The 500s in CI are consequences of the full disk, not network trouble (Nix's "usually happens
due to networking issues" hint is misleading). Verdict: failure. Fix order: `free-disk-space` (cache-01
`/nix`), `configure-attic-gc` (cache-01 atticd `default-retention-period`), `separate-attic-storage-volume`
(cache-01). Year inference: the short journal needs 2024 for `Dec 31` and 2025 for `Jan 01`. No expected
errors, no secrets, no unparseable lines planted (the empty kernel record prints as `kernel: ` alone).
""" % (name, E.table())
    out(root, "README.md", readme)


# =============================================================================================
# (c) cache advertised at the wrong address (localhost), plus expected 401 probes
# =============================================================================================
def set_identity():
    name = "identity-2025-06-02"
    root = os.path.join(SAMPLES, name)
    R = Rng(20250602)
    IST = ZoneInfo("Asia/Kolkata")
    T = lambda h, m, s=0, f=0: us(2025, 6, 2, h, m, s, f)
    t0, t1 = T(4, 0), T(6, 10)
    av = Host(R, "attic-vm", R.hexs(32), R.hexs(32), 11_400_000, us(2025, 5, 28, 22, 3, 55, 10_000))
    gb = Host(R, "gpu-box", R.hexs(32), R.hexs(32), -210_000, us(2025, 6, 1, 6, 30, 12, 700_000))
    # attic-vm: RFC 5424 via a central rsyslog (control characters escaped as #033), /dev/kmsg dump
    sl = []
    kern = []

    def sys5424(t, pri, app, pid, msg):
        m = msg.replace("\x1b", "#033")
        sl.append((t, "<%d>1 %s attic-vm %s %s - - %s" % (pri, rfc3339(av.clock(t), UTC, 6), app, pid, m)))

    atd_pid = [801]

    def ev(t, level, target, msg, fields=(), spans=(), trace=()):
        pri = {"ERROR": 27, "WARN": 28, "INFO": 30, "DEBUG": 31}[level]
        sys5424(t, pri, "atticd", atd_pid[0], tracing_line(av.clock(t), level, target, msg, fields, spans))
        for l in trace:
            sys5424(t, pri, "atticd", atd_pid[0], l)

    def kline(t, text, prio=6):
        kern.append((av.mono(t), text, prio))

    def attic_start(t, endpoint):
        for l in ["Attic Server 0.1.0 (release)", "Running migrations...", "Starting API server...", "Listening on [::]:8080..."]:
            sys5424(t, 30, "atticd", atd_pid[0], l)
        ev(t + 50_000, "INFO", "attic_server::config", 'Using configurations: ServerConfig { listen: [::]:8080, database: DatabaseConfig { url: "sqlite:///var/lib/atticd/server.db?mode=rwc" }, storage: Local(LocalStorageConfig { path: "/var/lib/atticd/storage" }), api_endpoint: Some("%s") }' % endpoint)

    attic_start(T(4, 0, 3), "http://localhost:8080/")
    for t in every(R, t0, t1, 300, 0.2):
        sys5424(t, 78, "CRON", R.randrange(20000, 40000), "(root) CMD (   test -x /etc/cron.daily/popularity-contest && /etc/cron.daily/popularity-contest --crond)")
    for t in every(R, t0, t1, 60, 0.05):  # blackbox probe without a token: 401 is the expected answer
        ev(t, "DEBUG", "tower_http::trace::on_response", "finished processing request", (("latency", "0 ms"), ("status", "401")),
           (("request", "method=GET uri=/ml-cache/nix-cache-info version=HTTP/1.1"),))
    for t in every(R, t0, t1, 200, 0.4):
        kline(t, "audit: type=1400 audit(%d.%03d:%d): apparmor=\"DENIED\" operation=\"open\" profile=\"snap.lxd.activate\" name=\"/proc/%d/mountinfo\" pid=%d comm=\"snap-exec\" requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0"
              % (av.clock(t) // 10 ** 6, R.randrange(1000), R.randrange(100, 999), R.randrange(1000, 9999), R.randrange(1000, 9999)), 5)
    sys5424(T(4, 2, 40), 86, "sudo", 1422, "   admin : TTY=pts/0 ; PWD=/home/admin ; USER=root ; COMMAND=/usr/local/bin/attic cache create ml-cache")
    # gpu-box
    sysd = Proc("systemd", 1, transport="journal", unit="init.scope", slice_="-.slice")
    run = Proc("gitlab-runner", 1733, uid=62001, unit="gitlab-runner.service")
    dk = Proc("dockerd", 1290, unit="docker.service")
    routine(R, gb, t0, t1, sysd, extra=[(dk, 120, lambda t: 'time="%s" level=info msg="ignoring event" container=%s module=libcontainerd namespace=moby topic=/tasks/delete type="*events.TaskDelete"' % (rfc3339nano(gb.clock(t), UTC, R), R.hexs(64)))])
    for t in every(R, t0, t1, 400, 0.3):
        gb.kernel(gb.mono(t), "NVRM: GPU at PCI:0000:01:00: GPU-%s-%s" % (R.hexs(8), R.hexs(4)) if R.random() < 0.2 else "nvidia-modeset: WARNING: GPU:0: Unable to read EDID for display device DP-2", 4)
    RT = "glrt-Q8v3KmT2pZx9LdW4yR7n"
    short = "Q8v3KmT2p"
    EP_OLD, EP_NEW = "http://localhost:8080/ml-cache", "http://attic-vm.tail0a1b.ts.net:8080/ml-cache"
    JWT = jwt(R, '{"sub":"ci","exp":1780000000,"https://jwt.attic.rs/v1":{"caches":{"ml-cache":{"r":1,"w":1}}}}')

    def job(tstart, jid, substituter, outcome):
        tr = Trace(R, clock_offset_us=gb.clock_offset_us, timestamps=True)
        tr.at(tstart)
        runner_j(gb, run, tstart - 400_000, "info", "Checking for jobs... received", job=jid, repo_url="https://gitlab.com/lab/ml-train.git", runner=short)
        tr.runner("Running with gitlab-runner 18.0.1 (4f6e1a2b)")
        tr.runner("  on gpu-box %s, system ID: s_7b6a5f4e3d2c" % short)
        tr.section_start("prepare_executor", 'Preparing the "docker" executor')
        tr.runner("Using Docker executor with image nixos/nix:2.28.3 ...")
        tr.section_end("prepare_executor")
        tr.section_start("step_script", 'Executing "step_script" stage of the job script')
        tr.cmd("attic login ml http://attic-vm.tail0a1b.ts.net:8080 " + JWT)
        tr.line('✍️ Configuring server "ml"', "E")
        tr.cmd("curl -s -o /dev/null -w '%{http_code}\\n' http://attic-vm.tail0a1b.ts.net:8080/ml-cache/nix-cache-info")
        tr.line("401")
        tr.cmd("attic use ml:ml-cache")
        tr.line('Configuring Nix to use "ml-cache" on "ml":')
        tr.line("+ Substituter: " + substituter)
        tr.line("+ Trusted Public Key: ml-cache:%s=" % R.b62(43))
        tr.line("+ Access Token")
        tr.cmd("nix build -L .#train-env")
        torch = R.store("python3.12-torch-2.7.0")
        if outcome == "timeout":
            tr.line("warning: unable to download 'http://localhost:8080/ml-cache/nix-cache-info': Couldn't connect to server (7) Failed to connect to localhost port 8080 after 0 ms: Could not connect to server", "E")
            tr.line("copying path '%s' from 'https://cache.nixos.org'..." % R.store("cudatoolkit-12.8.0"), "E")
            tr.line("building '%s.drv'..." % R.store("python3.12-torch-2.7.0"), "E")
            tr.progress(["[1/0/3 built] building python3.12-torch-2.7.0 (buildPhase): [%d/6412] Building CUDA object caffe2/CMakeFiles/torch_cuda.dir/%s.cu.o" % (n, R.choice(["Sort", "Reduce", "Embedding"])) for n in range(400, 3400, 500)])
            tr.adv(3_300_000)
            tr.error("Job failed: execution took longer than 1h0m0s seconds")
            runner_j(gb, run, tr.t, "warning", "Job failed: execution took longer than 1h0m0s seconds", duration_s="3600.412", failure_reason="job_execution_timeout", job=jid, project=41, runner=short)
        else:
            tr.line("copying path '%s' from '%s'..." % (torch, substituter), "E")
            tr.adv(90_000)
            tr.cmd("attic push ml:ml-cache result")
            tr.line('⚙️ Pushing 1 paths to "ml-cache" on "ml" (212 already cached, 0 in upstream)...', "E")
            tr.line("✅ %s (51.3 MiB/s)" % R.store("train-env")[11:], "E")
            tr.section_end("step_script")
            tr.info("Job succeeded")
            runner_j(gb, run, tr.t, "info", "Job succeeded", duration_s="%.6f" % ((tr.t - tstart) / 1e6), job=jid, project=41, runner=short)
            ev(tr.t - 1_000_000, "DEBUG", "tower_http::trace::on_response", "finished processing request", (("latency", "412 ms"), ("status", "200")),
               (("request", "method=PUT uri=/_api/v1/upload-path version=HTTP/1.1"),))
        for t in every(R, tstart + 5_000_000, tr.t, 45, 0.2):
            runner_j(gb, run, t, "info", "Appending trace to coordinator...ok", code=202, job=jid, runner=short, status="202 Accepted", **{"update-interval": "3s"})
        return tr

    tr = job(T(4, 31, 8), 7731, EP_OLD, "timeout")
    out(root, "gpu-box/jobs/ml-7731.log", tr.bytes())
    sys5424(T(5, 44, 2), 86, "sudo", 2207, "   admin : TTY=pts/0 ; PWD=/home/admin ; USER=root ; COMMAND=/usr/bin/sed -i s|^api-endpoint = .*|api-endpoint = \"http://attic-vm.tail0a1b.ts.net:8080/\"| /etc/atticd/server.toml")
    sys5424(T(5, 44, 30), 86, "sudo", 2207, "   admin : TTY=pts/0 ; PWD=/home/admin ; USER=root ; COMMAND=/usr/bin/systemctl restart atticd.service")
    sys5424(T(5, 44, 30, 900_000), 30, "systemd", 1, "Stopping Attic binary cache server...")
    sys5424(T(5, 44, 31), 30, "atticd", atd_pid[0], "Received SIGTERM, exiting gracefully...")
    sys5424(T(5, 44, 31, 400_000), 30, "systemd", 1, "Started Attic binary cache server.")
    atd_pid[0] = 2251
    attic_start(T(5, 44, 31, 600_000), "http://attic-vm.tail0a1b.ts.net:8080/")
    tr = job(T(5, 50, 15), 7735, EP_NEW, "ok")
    out(root, "gpu-box/jobs/ml-7735.log", tr.bytes())
    sl.sort(key=lambda x: x[0])
    out(root, "attic-vm/syslog.rfc5424", "".join(l + "\n" for _, l in sl))
    kern.sort()
    out(root, "attic-vm/kmsg.txt", kmsg_lines(kern, 88412))
    j = Journal(gb.export_bytes())
    out(root, "gpu-box/journal.short-precise", j.render("short-precise", tz="Asia/Kolkata"))
    j.close()
    E = Evidence(root)
    SL, GJ = "attic-vm/syslog.rfc5424", "gpu-box/journal.short-precise"
    for row in [("atticd advertises localhost", SL, 'api_endpoint: Some("http://localhost:8080/")'),
                ("cache created while advertising localhost", SL, "attic cache create ml-cache"),
                ("EXPECTED 401: unauthenticated probe (every minute)", SL, "status#033[0m#033[2m=#033[0m401"),
                ("EXPECTED 401: curl in the job", "gpu-box/jobs/ml-7731.log", " 00O 401\n"),
                ("wrong substituter in the job", "gpu-box/jobs/ml-7731.log", "+ Substituter: http://localhost:8080/ml-cache"),
                ("connection refused inside the container", "gpu-box/jobs/ml-7731.log", "Failed to connect to localhost port 8080"),
                ("silent fallback: builds from source", "gpu-box/jobs/ml-7731.log", "from 'https://cache.nixos.org'"),
                ("timeout", "gpu-box/jobs/ml-7731.log", "execution took longer than 1h0m0s seconds"),
                ("timeout (runner)", GJ, "Job failed: execution took longer than 1h0m0s seconds"),
                ("fix: api-endpoint", SL, "api-endpoint = \"http://attic-vm.tail0a1b.ts.net:8080/\""),
                ("fixed substituter", "gpu-box/jobs/ml-7735.log", "+ Substituter: http://attic-vm.tail0a1b.ts.net:8080/ml-cache"),
                ("pull works", "gpu-box/jobs/ml-7735.log", "from 'http://attic-vm.tail0a1b.ts.net:8080/ml-cache'"),
                ("secret: attic JWT", "gpu-box/jobs/ml-7731.log", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.")]:
        E.add(*row)
    readme = """# %s: a binary cache advertised at an address that only its own host can use

**Story.** On `attic-vm` (Ubuntu 22.04, kernel 5.15.0-131-generic, clock **11.4 s ahead**, logs shipped
to a central rsyslog in RFC 5424) atticd runs with `api-endpoint = "http://localhost:8080/"`. The cache
`ml-cache` is created in that state, so `attic use` on any client registers the substituter
`http://localhost:8080/ml-cache`. On `gpu-box` (NixOS, zone Asia/Kolkata = +05:30, Docker executor,
FF_TIMESTAMPS on) job 7731 logs in to the right host name (push would work), but Nix in the container
asks `localhost`, is refused, silently falls back to cache.nixos.org and compiles torch from source until
the 1 h timeout. A blackbox probe gets 401 from `/ml-cache/nix-cache-info` every minute, and a `curl` in
the job gets 401 too: both expected (private cache, no token) and unrelated. At 05:44 UTC the admin sets
the endpoint to the tailnet name and restarts atticd; job 7735 substitutes torch from the cache.

## Files
| file | format |
| --- | --- |
| `attic-vm/syslog.rfc5424` | RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID - - MSG`, rsyslog `RSYSLOG_SyslogProtocol23Format`); atticd's ANSI escapes arrive as `#033[...` (rsyslog escapes control characters) |
| `attic-vm/kmsg.txt` | `/dev/kmsg` records `prio,seq,usec,flags;message` (monotonic µs) |
| `gpu-box/journal.short-precise` | `journalctl -o short-precise`, `TZ=Asia/Kolkata`, no year |
| `gpu-box/jobs/ml-7731.log`, `ml-7735.log` | raw traces with FF_TIMESTAMPS, ANSI, sections, `\r` redraws |

## Order (true UTC)
04:00 atticd starts with the localhost endpoint; 04:02 `ml-cache` created; 04:31 job 7731 starts, falls
back, times out at 05:31; 05:44 endpoint fixed, atticd restarted; 05:50 job 7735 succeeds in ~2 min.
Probes every minute throughout (expected 401).

## Evidence (file:line)
%s

## What a correct analysis concludes
One failure incident, gap **identity vs address**: `localhost` names a different machine in every
context; the endpoint recorded for the cache is only valid on attic-vm itself. Verdict: failure (the
timeout); the 401s are **expected** (private cache, unauthenticated GET) and must not form an incident.
Fix order: `set-attic-api-endpoint` (attic-vm `/etc/atticd/server.toml`), then
`reconfigure-substituter` (gpu-box CI: rerun `attic use`, or recreate the cache if the endpoint is
stored with it). Secrets to redact: the attic JWT in job 7731's `attic login` line. Clock: attic-vm is
11.4 s ahead; kmsg is monotonic (boot 2025-05-28 22:03:55.01 attic-vm clock, not stated in the file).
No unparseable lines planted; the `#033` escapes are deliberate rsyslog behaviour.
""" % (name, E.table())
    out(root, "README.md", readme)


# =============================================================================================
# (d) systemd-oomd kills the user-level runner on a laptop (the kernel says nothing)
# =============================================================================================
def set_oomd():
    name = "oomd-2026-01-19"
    root = os.path.join(SAMPLES, name)
    R = Rng(20260119)
    T = lambda h, m, s=0, f=0: us(2026, 1, 19, h, m, s, f)
    t0, t1 = T(13, 0), T(15, 20)
    h = Host(R, "fw13", R.hexs(32), R.hexs(32), 3_100_000, us(2026, 1, 19, 8, 2, 40, 0))
    sysd = Proc("systemd", 1, transport="journal", unit="init.scope", slice_="-.slice")
    usd = Proc("systemd", 1876, uid=1000, transport="journal", unit="user@1000.service", slice_="user-1000.slice", user_unit="init.scope")
    oomd = Proc("systemd-oomd", 1123, uid=984, unit="systemd-oomd.service", transport="journal")
    run = Proc("gitlab-runner", 3310, uid=1000, unit="user@1000.service", slice_="user-1000.slice", user_unit="gitlab-runner.service")
    routine(R, h, t0, t1, sysd, extra=[
        (Proc("NetworkManager", 870, unit="NetworkManager.service", transport="journal"), 40, lambda t: "<info>  [%d.%04d] dhcp4 (wlp170s0): state changed new lease, address=192.168.1.%d" % (h.clock(t) // 10 ** 6, R.randrange(10000), R.randrange(20, 40))),
        (Proc("gnome-shell", 2301, uid=1000, unit="user@1000.service", slice_="user-1000.slice", user_unit="org.gnome.Shell@wayland.service"), 30, lambda t: "Window manager warning: Overwriting existing binding of keysym 31 with keysym 31 (keycode a)."),
        (Proc("fprintd", 2990, unit="fprintd.service", transport="journal"), 600, lambda t: "libusb: error [udev_hotplug_event] ignoring udev action bind"),
        (Proc("nix-daemon", 1010, unit="nix-daemon.service"), 90, lambda t: "accepted connection from pid %d, user alex" % R.randrange(10000, 90000))])
    for t in every(R, t0, t1, 120, 0.3):
        h.kernel(h.mono(t), "Bluetooth: hci0: ACL packet for unknown connection handle 3585", 3)
    RT = "mX4tV8kQ1"
    REPO = "https://gitlab.com/alex/dotfiles.git"
    for jid, t in [(5512, T(13, 10)), (5515, T(13, 40)), (5518, T(14, 5))]:
        runner_j(h, run, t, "info", "Checking for jobs... received", job=jid, repo_url=REPO, runner=RT)
        runner_j(h, run, t + 200_000_000, "info", "Job succeeded", duration_s="%.6f" % R.uniform(195, 205), job=jid, project=3, runner=RT)
    tj = T(14, 31, 4)
    runner_j(h, run, tj, "info", "Checking for jobs... received", job=5521, repo_url=REPO, runner=RT)
    tr = Trace(R, clock_offset_us=h.clock_offset_us, timestamps=True)
    tr.at(tj + 300_000)
    tr.runner("Running with gitlab-runner 18.7.2 (a0b1c2d3)")
    tr.runner("  on fw13-user %s, system ID: s_2a3b4c5d6e7f" % RT)
    tr.section_start("prepare_executor", 'Preparing the "shell" executor')
    tr.runner("Using Shell (bash) executor...")
    tr.section_end("prepare_executor")
    tr.section_start("step_script", 'Executing "step_script" stage of the job script')
    tr.cmd("nix build -L .#homeConfigurations.alex.activationPackage --max-jobs 8")
    for n in range(1, 9):
        tr.line("llvm> [%d/4215] Building CXX object lib/Target/X86/CMakeFiles/LLVMX86CodeGen.dir/X86%s.cpp.o" % (n * 310, R.choice(["ISelLowering", "InstrInfo", "FrameLowering"])), "E")
        tr.adv(20_000, 60_000)
    tr.progress(["[0/1/97 built, 12 copied (311.2 MiB)] building llvm-19.1.7 (buildPhase): [%d/4215]" % n for n in range(2700, 2900, 40)])
    out(root, "fw13/jobs/build-5521.log", tr.bytes())
    tk = tr.t + 2_400_000
    cg = "/user.slice/user-1000.slice/user@1000.service/app.slice/gitlab-runner.service"
    h.log(tk, oomd, "Killed %s due to memory pressure for /user.slice/user-1000.slice/user@1000.service being 71.38%% > 50.00%% for > 20s with reclaim activity" % cg, prio=5)
    UU = [("USER_UNIT", "gitlab-runner.service")]
    h.log(tk + 40_000, usd, "gitlab-runner.service: systemd-oomd killed 23 process(es) in this unit.", prio=5, extra=UU)
    h.log(tk + 300_000, usd, "gitlab-runner.service: Main process exited, code=killed, status=9/KILL", prio=5, extra=UU)
    h.log(tk + 301_000, usd, "gitlab-runner.service: Failed with result 'oom-kill'.", prio=4, extra=UU)
    h.log(tk + 302_000, usd, "gitlab-runner.service: Consumed 14min 2.113s CPU time, 9.8G memory peak, 2.1G memory swap peak.", extra=UU)
    h.log(tk + 5_400_000, usd, "gitlab-runner.service: Scheduled restart job, restart counter is at 1.", extra=UU)
    h.log(tk + 5_410_000, usd, "Started gitlab-runner.service - GitLab Runner (user).", extra=UU)
    run = Proc("gitlab-runner", 9114, uid=1000, unit="user@1000.service", slice_="user-1000.slice", user_unit="gitlab-runner.service")
    runner_j(h, run, tk + 5_700_000, "info", "Starting multi-runner from /home/alex/.gitlab-runner/config.toml...", builds=0, max_builds=1)
    runner_j(h, run, tk + 5_720_000, "info", "Configuration loaded", builds=0, max_builds=1)
    runner_j(h, run, tk + 35_000_000, "warning", "Appending trace to coordinator... job failed", code=403, job=5521, runner=RT, status="PATCH https://gitlab.com/api/v4/jobs/5521/trace: 403 Forbidden")
    sudo = Proc("sudo", 9901, transport="syslog", facility=10, unit="session-2.scope", slice_="user-1000.slice")
    h.log(T(14, 52, 10), sudo, "    alex : TTY=pts/3 ; PWD=/home/alex ; USER=root ; COMMAND=/run/current-system/sw/bin/oomctl", prio=5)
    for jid, t in [(5524, T(15, 1))]:
        runner_j(h, run, t, "info", "Checking for jobs... received", job=jid, repo_url=REPO, runner=RT)
        runner_j(h, run, t + 180_000_000, "info", "Job succeeded", duration_s="180.2", job=jid, project=3, runner=RT)
    j = Journal(h.export_bytes())
    out(root, "fw13/journal.short-full", j.render("short-full", tz="Europe/London"))
    j.close()
    kt = to_dt(tk).strftime("%H:%M:%S")
    E = Evidence(root)
    JF = "fw13/journal.short-full"
    for row in [("job starts", JF, "job=5521"), ("build with 8 parallel jobs", "fw13/jobs/build-5521.log", "--max-jobs 8"),
                ("trace ends mid-build (no verdict line)", "fw13/jobs/build-5521.log", "[2860/4215]"),
                ("systemd-oomd kill", JF, "systemd-oomd[1123]: Killed /user.slice/user-1000.slice/user@1000.service/app.slice/gitlab-runner.service"),
                ("user manager", JF, "systemd-oomd killed 23 process(es) in this unit."),
                ("result oom-kill", JF, "gitlab-runner.service: Failed with result 'oom-kill'."),
                ("runner restarts", JF, "Starting multi-runner from /home/alex/.gitlab-runner/config.toml..."),
                ("GitLab already failed the job", JF, "jobs/5521/trace: 403 Forbidden"),
                ("later job ok", JF, "job=5524")]:
        E.add(*row)
    readme = """# %s: systemd-oomd kills a user-level runner; the kernel log stays silent

**Story.** `fw13` (a laptop, NixOS, kernel 6.17, zone Europe/London = GMT in January, clock 3.1 s ahead)
runs gitlab-runner as a **user** service (`user@1000.service/app.slice/gitlab-runner.service`, shell
executor), so CI builds run in the user's slice, next to the desktop. Job 5521 builds LLVM with
`--max-jobs 8`. Memory pressure on `user@1000.service` stays above systemd-oomd's 50 %% limit for 20 s;
at %s UTC oomd kills the whole runner cgroup. The trace simply stops (no `Job failed` line); the user
manager logs `Failed with result 'oom-kill'`; the restarted runner finds GitLab has failed the job (403
on the trace PATCH). **There is no kernel OOM report**: oomd kills via cgroup.kill, so an analysis that
waits for `Killed process` finds nothing.

## Files
| file | format |
| --- | --- |
| `fw13/journal.short-full` | `journalctl -o short-full` (`Mon 2026-01-19 14:48:35 GMT`), `TZ=Europe/London` |
| `fw13/jobs/build-5521.log` | raw trace with FF_TIMESTAMPS (UTC, fw13 clock), truncated by the kill |

## Order (true UTC)
13:10-14:08 three jobs succeed; 14:31:04 job 5521 starts; %s oomd kill; the runner restarts 5.4 s later; its trace PATCH gets 403
35 s after the kill; 14:52 the user runs `oomctl`; 15:01 job 5524 succeeds.

## Evidence (file:line)
%s

## What a correct analysis concludes
One incident, gap **declared vs operational**: a user-level runner shares the desktop's memory-pressure
domain, which is declared nowhere in the CI config. The truncated trace belongs to this incident (same
job id, the kill time falls right after its last line; mind fw13's 3.1 s offset). The 403 is a
consequence (job already failed), not an auth failure. Verdict: failure. Fix order:
`limit-build-parallelism` (fw13 CI job `--max-jobs`), `move-runner-to-system-service` (fw13: system
gitlab-runner with its own `MemoryMax`, outside `user@1000.service`). No expected errors, no secrets,
no unparseable lines planted.
""" % (name, kt, kt, E.table())
    out(root, "README.md", readme)


# =============================================================================================
# quiet: routine lines and expected errors only
# =============================================================================================
def set_quiet():
    name = "quiet-2025-08-09"
    root = os.path.join(SAMPLES, name)
    R = Rng(20250809)
    T = lambda h, m, s=0, f=0: us(2025, 8, 9, h, m, s, f)
    t0, t1 = T(9, 0), T(11, 0)
    h = Host(R, "node7", R.hexs(32), R.hexs(32), -60_000, us(2025, 8, 1, 4, 0, 1, 0))
    sysd = Proc("systemd", 1, transport="journal", unit="init.scope", slice_="-.slice")
    run = Proc("gitlab-runner", 1402, uid=62002, unit="gitlab-runner.service")
    atd = Proc("atticd", 1190, uid=61190, unit="atticd.service")
    alog = []

    def ev(t, level, target, msg, fields=(), spans=()):
        line = tracing_line(h.clock(t), level, target, msg, fields, spans, ansi=False)  # NO_COLOR=1 is set
        alog.append((t, line))
        h.log(t, atd, line, prio={"INFO": 6, "DEBUG": 7}[level])

    routine(R, h, t0, t1, sysd, extra=[(Proc("nix-daemon", 980, unit="nix-daemon.service"), 60, lambda t: "accepted connection from pid %d, user gitlab-runner" % R.randrange(10000, 90000))])
    for t in every(R, t0, t1, 45, 0.3):
        ev(t, "DEBUG", "tower_http::trace::on_response", "finished processing request", (("latency", "%d ms" % R.randrange(0, 4)), ("status", "200")),
           (("request", "method=GET uri=/site-cache/%s.narinfo version=HTTP/1.1" % R.nix32()),))
    for t in every(R, t0, t1, 300, 0.02):  # anonymous uptime check: expected 401
        ev(t, "DEBUG", "tower_http::trace::on_response", "finished processing request", (("latency", "0 ms"), ("status", "401")),
           (("request", "method=GET uri=/site-cache/nix-cache-info version=HTTP/1.1"),))
    RT = "pL2vS9wQx"

    def job(t, jid, kind):
        tr = Trace(R, clock_offset_us=h.clock_offset_us, timestamps=True)
        tr.at(t)
        runner_j(h, run, t - 300_000, "info", "Checking for jobs... received", job=jid, repo_url="https://gitlab.com/site/www.git", runner=RT)
        tr.runner("Running with gitlab-runner 18.2.1 (cc489270)")
        tr.runner("  on node7 %s, system ID: s_4d5e6f7a8b9c" % RT)
        tr.section_start("prepare_executor", 'Preparing the "docker" executor')
        tr.runner("Using Docker executor with image nixos/nix:2.30.1 ...")
        tr.section_end("prepare_executor")
        tr.section_start("step_script", 'Executing "step_script" stage of the job script')
        tr.cmd("nix build .#site")
        tr.line("copying path '%s' from 'http://172.17.0.1:8083/site-cache'..." % R.store("site-deps"), "E")
        if kind == "cancel":
            tr.adv(15_000)
            tr.error("Job failed: canceled")
            runner_j(h, run, tr.t, "warning", "Job failed: canceled", duration_s="%.6f" % ((tr.t - t) / 1e6), failure_reason="", job=jid, **{"job-status": "canceled"}, project=5, runner=RT)
            return tr
        tr.cmd("lychee --no-progress public/")
        if kind == "429":
            tr.line("[429] https://www.reddit.com/r/NixOS/ | Network error: Too Many Requests", "O")
            tr.line("🔍 412 Total ✅ 411 OK 🚫 0 Errors 💤 1 Excluded (rate limited)", "O")
        else:
            tr.line("🔍 412 Total ✅ 412 OK 🚫 0 Errors", "O")
        tr.section_end("step_script")
        tr.info("Job succeeded")
        runner_j(h, run, tr.t, "info", "Job succeeded", duration_s="%.6f" % ((tr.t - t) / 1e6), job=jid, project=5, runner=RT)
        return tr

    saved = {}
    for i, t in enumerate(every(R, t0, t1, 900, 0.2)):
        jid = 9000 + i
        kind = "429" if i == 2 else "cancel" if i == 4 else "ok"
        tr = job(t, jid, kind)
        if kind != "ok" or i == 0:
            saved[jid] = tr
    for jid, tr in saved.items():
        out(root, "node7/jobs/site-%d.log" % jid, tr.bytes())
    j = Journal(h.export_bytes())
    # node7 runs systemd 256, which prints +00:00 (emulated from this machine's systemd 252 output)
    out(root, "node7/journal.short-iso", iso_offset_colon(j.render("short-iso", tz="UTC")))
    j.close()
    alog.sort(key=lambda x: x[0])
    out(root, "node7/atticd.log", "".join(l + "\n" for _, l in alog))
    E = Evidence(root)
    names = sorted(saved)
    for row in [("EXPECTED 401: anonymous uptime check", "node7/atticd.log", "status=401"),
                ("EXPECTED 429: link checker rate-limited", "node7/jobs/site-%d.log" % names[1], "[429]"),
                ("EXPECTED auto-cancel", "node7/jobs/site-%d.log" % names[2], "Job failed: canceled"),
                ("runner: canceled", "node7/journal.short-iso", "job-status=canceled")]:
        E.add(*row)
    readme = """# %s: a quiet day (no failure incident)

**Story.** `node7` (NixOS, systemd 256 so `short-iso` offsets read `+00:00`, zone UTC, clock 0.06 s
behind) runs a Docker-executor runner for a static site and atticd (`NO_COLOR=1`, so plain tracing lines,
`RUST_LOG=tower_http=debug`). Everything works: jobs substitute from `http://172.17.0.1:8083/site-cache`
(the bridge address, correct from a container), an anonymous uptime check gets **401** every five
minutes (private cache: expected), the link checker meets one **429** (expected, rate limited, job still
succeeds), and one interruptible job is **auto-cancelled** by a newer pipeline (expected).

## Files
| file | format |
| --- | --- |
| `node7/journal.short-iso` | `journalctl -o short-iso`, systemd 256 style `+00:00` (emulated: the machine's 252 output with the offset colon added) |
| `node7/atticd.log` | atticd stdout without ANSI (tracing Full format, `NO_COLOR`) |
| `node7/jobs/site-*.log` | raw traces with FF_TIMESTAMPS |

## Evidence (file:line)
%s

## What a correct analysis concludes
**No failure incident.** Every error-looking line is expected: 401 from an unauthenticated GET of a
private cache, 429 from a third-party site, an auto-cancelled interruptible job. Gaps: none to act on
(all three are of the expected-vs-failure kind and resolve to *expected*). Fix order: empty. No secrets,
no unparseable lines planted.
""" % (name, E.table())
    out(root, "README.md", readme)


SETS = {"memcg": set_memcg, "diskfull": set_diskfull, "identity": set_identity, "oomd": set_oomd, "quiet": set_quiet}

if __name__ == "__main__":
    for n in sys.argv[1:] or list(SETS):
        SETS[n]()
        print("wrote", n)

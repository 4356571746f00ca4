"""Shared helpers for the scripts that (re)make gaplog's sample outage sets.

Every sample set under samples/<name>/ is written by one make_<name>.py script in this folder, which
imports this module. The scripts are deterministic (fixed seeds, no wall clock), so rerunning them
reproduces the committed bytes: the one random id that ``systemd-journal-remote`` picks (the seqnum id
in ``__SEQNUM_ID`` and the cursor's ``s=``) is replaced by a hash of the input export stream.

Layouts follow /work/shared/reference/formats.md (quoted per function below). Journal files are made
by the real tools: an export stream is written here, ``systemd-journal-remote`` turns it into a
``.journal`` file and ``journalctl --file`` renders every text mode.

Times: every event is placed on TRUE UTC time (integer microseconds since the epoch); each Host has
a clock offset that turns true time into what that host's clock said, and a boot realtime that turns
its clock into CLOCK_MONOTONIC.
"""

from __future__ import annotations

import datetime as _dt
import os
import random
import shutil
import struct
import subprocess
import tempfile

NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"  # = [0-9a-df-np-sv-z]
ESC = "\x1b"
UTC = _dt.timezone.utc
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


def us(y, mo, d, h=0, mi=0, s=0, frac_us=0):
    """True UTC time as integer microseconds since the epoch."""
    t = _dt.datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    return int(t.timestamp()) * 1_000_000 + frac_us


def to_dt(t_us, tz=UTC):
    return _dt.datetime.fromtimestamp(t_us // 1_000_000, tz).replace(microsecond=t_us % 1_000_000)


def iso_z(t_us):
    """tracing-subscriber / gitlab FF_TIMESTAMPS style: 2026-03-25T10:00:00.123456Z"""
    d = to_dt(t_us)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % d.microsecond


def iso_nano_z(t_us, rng):
    """Go RFC3339Nano (logrus text/json): trailing zeros trimmed."""
    d = to_dt(t_us)
    ns = d.microsecond * 1000 + rng.randrange(1000)
    frac = ("%09d" % ns).rstrip("0")
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ("." + frac if frac else "") + "Z"


class Rng(random.Random):
    def hexs(self, n):
        return "".join(self.choice("0123456789abcdef") for _ in range(n))

    def nix32(self, n=32):
        return "".join(self.choice(NIX32) for _ in range(n))

    def b62(self, n):
        return "".join(self.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    def b64url(self, n):
        return "".join(self.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(n))

    def store(self, name):
        return "/nix/store/%s-%s" % (self.nix32(), name)

    def jitter(self, a_us, b_us):
        return self.randrange(a_us, b_us)


def jwt(rng, claims_json):
    """A realistic-looking HS256 JWT (header is the standard one; the signature is random)."""
    import base64

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    head = b64(b'{"alg":"HS256","typ":"JWT"}')
    return "%s.%s.%s" % (head, b64(claims_json.encode()), rng.b64url(43))


# ---------------------------------------------------------------------------------------------
# systemd journal
# ---------------------------------------------------------------------------------------------

def _is_printable_export(b: bytes) -> bool:
    """utf8_is_printable_newline(..., false): any control char except TAB (so also \\n) -> binary."""
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    for ch in s:
        o = ord(ch)
        if (o < 32 and o != 9) or 0x7F <= o <= 0x9F:
            return False
    return True


class Proc:
    """A process as journald sees it (trusted fields)."""

    def __init__(self, ident, pid, uid=0, gid=None, comm=None, exe=None, cmdline=None, unit=None,
                 slice_="system.slice", transport="stdout", facility=3, user_unit=None):
        self.ident = ident
        self.pid = pid
        self.uid = uid
        self.gid = uid if gid is None else gid
        self.comm = comm or ident[:15]
        self.exe = exe
        self.cmdline = cmdline
        self.unit = unit
        self.slice = slice_
        self.transport = transport
        self.facility = facility
        self.user_unit = user_unit
        self.stream_id = None


class Host:
    def __init__(self, rng, hostname, boot_id, machine_id, clock_offset_us, boot_realtime_us):
        self.rng = rng
        self.hostname = hostname
        self.boot_id = boot_id
        self.machine_id = machine_id
        self.clock_offset_us = clock_offset_us  # host clock = true + offset
        self.boot_realtime_us = boot_realtime_us  # host clock at monotonic 0
        self.entries = []  # (realtime, monotonic, [(k, v)])
        self.invocation = {}

    def clock(self, t_true):
        return t_true + self.clock_offset_us

    def mono(self, t_true):
        return self.clock(t_true) - self.boot_realtime_us

    def true_from_mono(self, mono_us):
        return mono_us + self.boot_realtime_us - self.clock_offset_us

    def _invocation(self, unit):
        if unit not in self.invocation:
            self.invocation[unit] = self.rng.hexs(32)
        return self.invocation[unit]

    def new_invocation(self, unit):
        self.invocation[unit] = self.rng.hexs(32)

    def log(self, t_true, proc: Proc, message, prio=6, extra=None):
        """Append one entry written by `proc` at true time t_true (journald receive time)."""
        rt = self.clock(t_true)
        mono = rt - self.boot_realtime_us
        f = [("_HOSTNAME", self.hostname), ("_MACHINE_ID", self.machine_id)]
        f.append(("_TRANSPORT", proc.transport))
        f.append(("PRIORITY", str(prio)))
        f.append(("SYSLOG_FACILITY", str(proc.facility)))
        f.append(("SYSLOG_IDENTIFIER", proc.ident))
        if proc.transport == "stdout":
            if proc.stream_id is None:
                proc.stream_id = self.rng.hexs(32)
            f.append(("_STREAM_ID", proc.stream_id))
        if proc.transport in ("syslog", "journal"):
            f.append(("_SOURCE_REALTIME_TIMESTAMP", str(rt - self.rng.randrange(15, 400))))
        if proc.transport == "syslog":
            f.append(("SYSLOG_PID", str(proc.pid)))
        f.append(("_PID", str(proc.pid)))
        f.append(("_UID", str(proc.uid)))
        f.append(("_GID", str(proc.gid)))
        f.append(("_COMM", proc.comm))
        if proc.exe:
            f.append(("_EXE", proc.exe))
        if proc.cmdline:
            f.append(("_CMDLINE", proc.cmdline))
        if proc.unit:
            if proc.user_unit:
                f.append(("_SYSTEMD_CGROUP", "/user.slice/user-%d.slice/%s/%s" % (proc.uid, proc.unit, proc.user_unit)))
                f.append(("_SYSTEMD_UNIT", proc.unit))
                f.append(("_SYSTEMD_USER_UNIT", proc.user_unit))
                f.append(("_SYSTEMD_SLICE", proc.slice))
            else:
                f.append(("_SYSTEMD_CGROUP", "/%s/%s" % (proc.slice, proc.unit) if proc.slice != "-.slice" else "/init.scope"))
                f.append(("_SYSTEMD_UNIT", proc.unit))
                f.append(("_SYSTEMD_SLICE", proc.slice))
                f.append(("_SYSTEMD_INVOCATION_ID", self._invocation(proc.unit)))
        if extra:
            f.extend(extra)
        f.append(("MESSAGE", message))
        self.entries.append((rt, mono, f))

    def kernel(self, mono_us, message, prio=6, extra=None):
        """A kernel (kmsg) entry: _TRANSPORT=kernel, _SOURCE_MONOTONIC_TIMESTAMP = printk time."""
        recv_mono = mono_us + self.rng.randrange(40, 900)
        rt = recv_mono + self.boot_realtime_us
        f = [("_HOSTNAME", self.hostname), ("_MACHINE_ID", self.machine_id),
             ("_SOURCE_MONOTONIC_TIMESTAMP", str(mono_us)), ("_TRANSPORT", "kernel"),
             ("PRIORITY", str(prio)), ("SYSLOG_FACILITY", "0"), ("SYSLOG_IDENTIFIER", "kernel")]
        if extra:
            f.extend(extra)
        f.append(("MESSAGE", message))
        self.entries.append((rt, recv_mono, f))

    def export_bytes(self, since_clock=None, until_clock=None):
        out = bytearray()
        for rt, mono, fields in sorted(self.entries, key=lambda e: (e[0], e[1])):
            if since_clock is not None and rt < since_clock:
                continue
            if until_clock is not None and rt >= until_clock:
                continue
            out += b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n" % (rt, mono, self.boot_id.encode())
            for k, v in fields:
                b = v.encode("utf-8") if isinstance(v, str) else v
                if _is_printable_export(b):
                    out += k.encode() + b"=" + b + b"\n"
                else:
                    out += k.encode() + b"\n" + struct.pack("<Q", len(b)) + b + b"\n"
            out += b"\n"
        return bytes(out)


class Journal:
    """A real .journal file made from an export stream by systemd-journal-remote."""

    def __init__(self, export: bytes):
        if not os.path.exists(JOURNAL_REMOTE):
            raise SystemExit("need %s: apt-get install -y systemd-journal-remote" % JOURNAL_REMOTE)
        self.dir = tempfile.mkdtemp(prefix="gaplog-journal-")
        src = self.src = os.path.join(self.dir, "in.export")
        with open(src, "wb") as fh:
            fh.write(export)
        self.path = os.path.join(self.dir, "sample.journal")
        subprocess.run([JOURNAL_REMOTE, "--output=" + self.path, src], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def render(self, mode, tz="UTC", extra=()):
        env = dict(os.environ, TZ=tz, LANG="C.UTF-8", LC_ALL="C.UTF-8", SYSTEMD_COLORS="0", SYSTEMD_PAGER="")
        p = subprocess.run(["journalctl", "--file", self.path, "--no-pager", "-o", mode, *extra],
                           check=True, stdout=subprocess.PIPE, env=env)
        out = self._fixed_ids(p.stdout)
        return self._stable_json(out) if mode == "json" else out

    @staticmethod
    def _stable_json(out):
        """journalctl's JSON key order comes from the file's keyed hash table, which differs per file:
        sort the keys (any order is valid output) after checking the re-serialisation is byte-exact."""
        import json

        res = []
        for line in out.split(b"\n"):
            if not line:
                res.append(line)
                continue
            pairs = json.loads(line, object_pairs_hook=list)
            enc = lambda kv: json.dumps(kv[0], ensure_ascii=False) + ":" + json.dumps(kv[1], ensure_ascii=False, separators=(",", ":"))
            if ("{" + ",".join(map(enc, pairs)) + "}").encode() != line:
                raise SystemExit("journalctl json line not reproducible by json.dumps: %r" % line[:200])
            res.append(("{" + ",".join(map(enc, sorted(pairs))) + "}").encode())
        return b"\n".join(res)

    def _fixed_ids(self, out):
        """systemd-journal-remote picks a random seqnum id (seen in __SEQNUM_ID and in the cursor's s=);
        replace it with one derived from the content so reruns give the same bytes."""
        import hashlib
        import re

        m = re.search(rb"s=([0-9a-f]{32});i=", out)
        if not m:
            return out
        fixed = hashlib.sha256(open(self.src, "rb").read()).hexdigest()[:32].encode()
        return out.replace(m.group(1), fixed)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def iso_offset_colon(text: bytes) -> bytes:
    """systemd 252 (this machine) prints short-iso offsets as +0100; v255+ prints +01:00
    (systemd PR #29134). Used only to emulate a newer host's output; the sample's README says so."""
    import re

    return re.sub(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?[+-]\d\d)(\d\d) ",
                  rb"\1:\2 ", text, flags=re.M)


# ---------------------------------------------------------------------------------------------
# kernel / dmesg
# ---------------------------------------------------------------------------------------------

def dmesg_ts(mono_us):
    return "[%5d.%06d]" % (mono_us // 1_000_000, mono_us % 1_000_000)


def dmesg_lines(records, style="raw", boot_realtime_us=None, tz=UTC):
    """records: [(mono_us, text, prio)] -> dmesg text.

    style raw:  "[ 1234.567890] text"          (util-linux default)
    style ctime: "[Wed Mar 25 10:00:00 2026] text"  (-T, %a %b %e %H:%M:%S %Y)
    style iso:   "2026-03-25T10:00:00,123456+01:00 text"
    Multi-line records repeat the stamp on each line, as util-linux >= 2.39 does (seen in real 6.x output).
    """
    out = []
    for mono, text, _prio in records:
        if style == "raw":
            ts = dmesg_ts(mono) + " "
        else:
            t = boot_realtime_us + mono
            d = to_dt(t, tz)
            if style == "ctime":
                ts = "[" + d.strftime("%a %b ") + ("%2d" % d.day) + d.strftime(" %H:%M:%S %Y") + "] "
            elif style == "iso":
                off = d.utcoffset()
                mins = int(off.total_seconds()) // 60
                sign = "+" if mins >= 0 else "-"
                ts = d.strftime("%Y-%m-%dT%H:%M:%S") + ",%06d" % d.microsecond + "%s%02d:%02d " % (sign, abs(mins) // 60, abs(mins) % 60)
            else:
                raise ValueError(style)
        for line in text.split("\n"):
            out.append(ts + line)
    return "\n".join(out) + "\n"


def oom_block(rng, *, kernel, comm, pid, uid, gfp="0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)", adj=0,
              hw="QEMU Standard PC (Q35 + ICH9, 2009), BIOS rel-1.16.3-0-ga6ed6b701f0a-prebuilt.qemu.org 04/01/2014",
              cpu=2, tasks, victim, constraint="CONSTRAINT_NONE", memcg=None, cpuset="/", task_memcg="/",
              total_pages=4194174, era="6.10", memcg_info=None, tainted="Not tainted"):
    """One kernel OOM report as a list of (text, prio) records, layouts per formats.md 2.1/2.2.

    tasks: [(pid, uid, tgid, total_vm, rss, rss_anon, rss_file, rss_shmem, pgtables_bytes, swapents, adj, name)]
    victim: index into tasks. era: "6.10" (rss_* columns), "5.10" (pgtables_bytes), "4.19" (same header,
    two kill lines are <=5.2 only, handled by era "4.19").
    """
    R = []
    R.append(("%s invoked oom-killer: gfp_mask=%s, order=0, oom_score_adj=%d" % (comm, gfp, adj), 4))
    if era == "6.10":
        R.append(("CPU: %d UID: %d PID: %d Comm: %s %s %s #1-NixOS" % (cpu, uid, pid, comm, tainted, kernel), 4))
    else:
        R.append(("CPU: %d PID: %d Comm: %s %s %s" % (cpu, pid, comm, tainted, kernel), 4))
    R.append(("Hardware name: %s" % hw, 4))
    R.append(("Call Trace:", 4))
    if era != "4.19":
        R.append((" <TASK>", 4))
    frames = ["dump_stack_lvl+0x5d/0x80", "dump_header+0x43/0x1c0", "oom_kill_process+0xfe/0x200",
              "out_of_memory+0x244/0x590"]
    if memcg:
        frames += ["mem_cgroup_out_of_memory+0x13b/0x150", "try_charge_memcg+0x7b8/0x880",
                   "__mem_cgroup_charge+0x3b/0x80", "do_anonymous_page+0x266/0x6e0"]
    else:
        frames += ["__alloc_pages_may_oom+0x10e/0x1d0", "__alloc_pages_slowpath.constprop.0+0x418/0xe30",
                   "__alloc_pages_noprof+0x316/0x330", "alloc_pages_mpol_noprof+0xd7/0x1e0",
                   "folio_alloc_mpol_noprof+0x14/0x30", "vma_alloc_folio_noprof+0x67/0xd0",
                   "do_anonymous_page+0x2d5/0x6e0"]
    if era == "4.19":
        frames = [f.replace("_noprof", "").replace("dump_stack_lvl+0x5d/0x80", "dump_stack+0x66/0x90") for f in frames]
    frames += ["__handle_mm_fault+0x7b3/0x1060", "handle_mm_fault+0x17f/0x360", "do_user_addr_fault+0x169/0x6a0",
               "exc_page_fault+0x7e/0x180", "asm_exc_page_fault+0x26/0x30"]
    for fr in frames:
        R.append((" " + fr, 4))
    R.append(("RIP: 0033:0x%x" % rng.randrange(0x400000, 0x7fffff), 4))
    R.append(("Code: Unable to access opcode bytes at 0x%x." % rng.randrange(0x400000, 0x7fffff), 4))
    R.append(("RSP: 002b:000000c%09x EFLAGS: 00010246" % rng.randrange(16 ** 9), 4))
    for regs in (("RAX", "RBX", "RCX"), ("RDX", "RSI", "RDI"), ("RBP", "R08", "R09"), ("R10", "R11", "R12"), ("R13", "R14", "R15")):
        R.append((" ".join("%s: %016x" % (r, rng.choice([0, rng.randrange(16 ** 12)])) for r in regs), 4))
    if era != "4.19":
        R.append((" </TASK>", 4))
    if memcg:
        usage, limit, failcnt = memcg_info
        R.append(("memory: usage %dkB, limit %dkB, failcnt %d" % (usage, limit, failcnt), 6))
        if era == "4.19":
            R.append(("memory+swap: usage %dkB, limit %dkB, failcnt 0" % (usage, 9007199254740988), 6))
            R.append(("kmem: usage %dkB, limit 9007199254740988kB, failcnt 0" % (usage // 40), 6))
        else:
            R.append(("swap: usage 0kB, limit 0kB, failcnt 0", 6))
        R.append(("Memory cgroup stats for %s:" % memcg, 6))
        anon = usage * 1024 * 97 // 100
        stats = ["anon %d" % anon, "file %d" % (usage * 1024 - anon), "kernel %d" % (usage * 10), "kernel_stack 311296",
                 "pagetables %d" % (usage * 2), "sec_pagetables 0", "percpu 5760", "sock 0", "vmalloc 8192",
                 "shmem 0", "file_mapped 0", "file_dirty 0", "file_writeback 0", "swapcached 0",
                 "anon_thp 0", "inactive_anon %d" % (anon - 8192), "active_anon 8192", "inactive_file 0", "active_file 0",
                 "unevictable 0", "slab_reclaimable 123904", "slab_unreclaimable 287712", "pgscan 5521", "pgsteal 2116",
                 "pgfault %d" % rng.randrange(10 ** 6, 10 ** 7), "pgmajfault 13", "oom_kill 0"]
        if era == "4.19":
            stats = ["cache 0", "rss %d" % anon, "rss_huge 0", "shmem 0", "mapped_file 0", "dirty 0", "writeback 0",
                     "pgpgin %d" % rng.randrange(10 ** 6), "pgpgout %d" % rng.randrange(10 ** 5), "pgfault %d" % rng.randrange(10 ** 6),
                     "pgmajfault 0", "inactive_anon 0", "active_anon %d" % anon, "inactive_file 0", "active_file 0",
                     "unevictable 0", "hierarchical_memory_limit %d" % (limit * 1024), "total_rss %d" % anon]
        for s in stats:
            R.append((s, 6))
    else:
        free = rng.randrange(30000, 34000)
        aa = total_pages * 72 // 100
        ia = total_pages * 20 // 100
        R.append(("Mem-Info:", 4))
        R.append(("active_anon:%d inactive_anon:%d isolated_anon:0\n active_file:%d inactive_file:%d isolated_file:0\n"
                  " unevictable:0 dirty:0 writeback:0\n slab_reclaimable:%d slab_unreclaimable:%d\n"
                  " mapped:%d shmem:%d pagetables:%d\n sec_pagetables:0 bounce:0\n kernel_misc_reclaimable:0\n"
                  " free:%d free_pcp:%d free_cma:0" % (aa, ia, rng.randrange(600, 1500), rng.randrange(900, 2000),
                                                      rng.randrange(20000, 24000), rng.randrange(36000, 40000),
                                                      rng.randrange(1500, 2500), rng.randrange(9000, 11000),
                                                      rng.randrange(13000, 16000), free, rng.randrange(50, 200)), 4))
        R.append(("Node 0 active_anon:%dkB inactive_anon:%dkB active_file:%dkB inactive_file:%dkB unevictable:0kB "
                  "isolated(anon):0kB isolated(file):0kB mapped:7572kB dirty:0kB writeback:0kB shmem:41684kB "
                  "writeback_tmp:0kB kernel_stack:9024kB pagetables:58728kB sec_pagetables:0kB all_unreclaimable? yes"
                  % (aa * 4, ia * 4, 4084, 5808), 4))
        R.append(("Node 0 DMA free:11264kB boost:0kB min:32kB low:44kB high:56kB reserved_highatomic:0KB active_anon:0kB "
                  "inactive_anon:0kB active_file:0kB inactive_file:0kB unevictable:0kB writepending:0kB present:15992kB "
                  "managed:15360kB mlocked:0kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB", 4))
        R.append(("lowmem_reserve[]: 0 2955 15955 15955 15955", 4))
        R.append(("Node 0 DMA32 free:63124kB boost:0kB min:6220kB low:9244kB high:12268kB reserved_highatomic:0KB "
                  "active_anon:2240716kB inactive_anon:612344kB active_file:0kB inactive_file:12kB unevictable:0kB "
                  "writepending:0kB present:3129216kB managed:3063680kB mlocked:0kB bounce:0kB free_pcp:124kB "
                  "local_pcp:0kB free_cma:0kB", 4))
        R.append(("lowmem_reserve[]: 0 0 13000 13000 13000", 4))
        R.append(("Node 0 Normal free:%dkB boost:0kB min:27364kB low:40676kB high:53988kB reserved_highatomic:0KB "
                  "active_anon:%dkB inactive_anon:%dkB active_file:4084kB inactive_file:5796kB unevictable:0kB "
                  "writepending:0kB present:13631488kB managed:13312136kB mlocked:0kB bounce:0kB free_pcp:328kB "
                  "local_pcp:68kB free_cma:0kB" % (free * 4 - 74388, aa * 4 - 2240716, ia * 4 - 612344), 4))
        R.append(("lowmem_reserve[]: 0 0 0 0 0", 4))
        R.append(("Node 0 DMA: 0*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 1*1024kB (U) 1*2048kB (M) 2*4096kB (M) = 11264kB", 4))
        R.append(("Node 0 DMA32: 293*4kB (UME) 241*8kB (UME) 198*16kB (UME) 160*32kB (UME) 101*64kB (UME) 66*128kB (UM) 41*256kB (UM) 24*512kB (UM) 9*1024kB (UM) 1*2048kB (M) 0*4096kB = 63124kB", 4))
        R.append(("Node 0 Normal: 1502*4kB (UME) 1227*8kB (UME) 806*16kB (UME) 391*32kB (UME) 121*64kB (UM) 23*128kB (UM) 4*256kB (M) 0*512kB 0*1024kB 0*2048kB 0*4096kB = %dkB" % (free * 4 - 74388), 4))
        R.append(("Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=1048576kB", 6))
        R.append(("Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB", 6))
        R.append(("%d total pagecache pages" % rng.randrange(12000, 15000), 6))
        R.append(("0 pages in swap cache", 6))
        R.append(("Free swap  = 0kB", 6))
        R.append(("Total swap = 0kB", 6))
        R.append(("%d pages RAM" % total_pages, 6))
        R.append(("0 pages HighMem/MovableOnly", 6))
        R.append(("%d pages reserved" % (total_pages // 40), 6))
        R.append(("0 pages hwpoisoned", 6))
    R.append(("Tasks state (memory values in pages):", 6))
    if era == "6.10":
        R.append(("[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name", 6))
        for t in tasks:
            R.append(("[%7d] %5d %5d %8d %8d %8d %8d %9d %8d %8d         %5d %s" % t, 6))
    else:
        R.append(("[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name", 6))
        for t in tasks:
            R.append(("[%7d] %5d %5d %8d %8d %8d %8d         %5d %s" % (t[0], t[1], t[2], t[3], t[4], t[8], t[9], t[10], t[11]), 6))
    v = tasks[victim]
    ctx = ",oom_memcg=%s,task_memcg=%s" % (memcg, task_memcg) if memcg else ",global_oom,task_memcg=%s" % task_memcg
    R.append(("oom-kill:constraint=%s,nodemask=(null),cpuset=%s,mems_allowed=0%s,task=%s,pid=%d,uid=%d"
              % (constraint, cpuset, ctx, v[11], v[0], v[1]), 6))
    msg = "Memory cgroup out of memory" if memcg else "Out of memory"
    kb = lambda p: p * 4
    if era == "4.19":
        R.append(("%s: Kill process %d (%s) score %d or sacrifice child" % (msg, v[0], v[11], rng.randrange(500, 990)), 3))
        R.append(("Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB, file-rss:%dkB, shmem-rss:%dkB"
                  % (v[0], v[11], kb(v[3]), kb(v[5]), kb(v[6]), kb(v[7])), 3))
    else:
        R.append(("%s: Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB, file-rss:%dkB, shmem-rss:%dkB, UID:%d pgtables:%dkB oom_score_adj:%d"
                  % (msg, v[0], v[11], kb(v[3]), kb(v[5]), kb(v[6]), kb(v[7]), v[1], v[8] >> 10, v[10]), 3))
    return R


def task_row(pid, uid, total_vm, rss, name, adj=0, tgid=None, shmem=0, file_frac=0.04, rng=None):
    rss_file = int(rss * file_frac)
    rss_anon = rss - rss_file - shmem
    pgt = max(40960, (total_vm // 512) * 4096)
    return (pid, uid, tgid or pid, total_vm, rss, rss_anon, rss_file, shmem, pgt, 0, adj, name)


# ---------------------------------------------------------------------------------------------
# atticd (tracing-subscriber Full format, ANSI on)
# ---------------------------------------------------------------------------------------------

_LEVEL = {"ERROR": "\x1b[31mERROR\x1b[0m", "WARN": "\x1b[33m WARN\x1b[0m", "INFO": "\x1b[32m INFO\x1b[0m",
          "DEBUG": "\x1b[34mDEBUG\x1b[0m", "TRACE": "\x1b[35mTRACE\x1b[0m"}
_PLAIN_LEVEL = {"ERROR": "ERROR", "WARN": " WARN", "INFO": " INFO", "DEBUG": "DEBUG", "TRACE": "TRACE"}


def tracing_line(t_us, level, target, message, fields=(), spans=(), ansi=True):
    """`<ts> <LEVEL> <span{f}:...> <target>: <message> <k=v>` (formats.md 3.2)."""
    if not ansi:
        sp = "".join("%s{%s}:" % (n, f) if f else "%s:" % n for n, f in spans)
        fl = "".join(" %s=%s" % kv for kv in fields)
        return "%s %s %s%s: %s%s" % (iso_z(t_us), _PLAIN_LEVEL[level], (sp + " ") if sp else "", target, message, fl)
    s = "\x1b[2m%s\x1b[0m %s " % (iso_z(t_us), _LEVEL[level])
    for n, f in spans:
        s += "\x1b[1m%s\x1b[0m" % n
        if f:
            s += "\x1b[1m{\x1b[0m%s\x1b[1m}\x1b[0m" % f
        s += "\x1b[2m:\x1b[0m"
    if spans:
        s += " "
    s += "\x1b[2m%s\x1b[0m\x1b[2m:\x1b[0m %s" % (target, message)
    for k, v in fields:
        s += " \x1b[3m%s\x1b[0m\x1b[2m=\x1b[0m%s" % (k, v)
    return s


def spantrace(frames):
    """tracing-error SpanTrace Display: frames = [(target::name, fields or None, file, line)]."""
    out = []
    for i, (name, fields, file, line) in enumerate(frames):
        out.append("%4d: %s" % (i, name))
        if fields:
            out.append("           with %s" % fields)
        out.append("             at %s:%d" % (file, line))
    return out


# ---------------------------------------------------------------------------------------------
# gitlab-runner daemon log ("runner" formatter) and logrus text/json
# ---------------------------------------------------------------------------------------------

A_RESET = "\x1b[0;m"
A_YELLOW = "\x1b[0;33m"
A_BOLD_RED = "\x1b[31;1m"
A_BOLD_GREEN = "\x1b[32;1m"
A_BOLD_CYAN = "\x1b[36;1m"
A_CLEAR = "\x1b[0K"


def runner_line(level, message, fields, colors=True):
    """log/runner_formatter.go: `%s%s%-*s%s ` then ` %s%s%s=%v` per sorted key."""
    color, prefix = {"info": ("", ""), "debug": ("\x1b[37;1m", ""), "warning": (A_YELLOW, "WARNING: "),
                     "error": (A_BOLD_RED, "ERROR: "), "fatal": (A_BOLD_RED, "FATAL: ")}[level]
    reset = A_RESET if colors else ""
    if not colors:
        color = ""
    s = "%s%s%-*s%s " % (color, prefix, 50 - len(prefix), message, reset)
    for k in sorted(fields):
        s += " %s%s%s=%s" % (color, k, reset, fields[k])
    return s


def logrus_text(t_str, level, msg, fields):
    """logrus TextFormatter without colours: time="..." level=... msg="..." k=v (keys sorted)."""
    def q(v):
        v = str(v)
        if v == "" or any(c in v for c in ' ="\\\t') or not all(c.isprintable() for c in v):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return v
    s = 'time="%s" level=%s msg=%s' % (t_str, level, q(msg))
    for k in sorted(fields):
        s += " %s=%s" % (k, q(fields[k]))
    return s


def logrus_json(t_str, level, msg, fields):
    import json

    d = dict(fields)
    d["level"] = level
    d["msg"] = msg
    d["time"] = t_str
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def klog(t_host_us, sev, tid, src, msg):
    """klog header `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg` (threadid padded to 7)."""
    d = to_dt(t_host_us)
    return "%s%02d%02d %02d:%02d:%02d.%06d %7d %s] %s" % (sev, d.month, d.day, d.hour, d.minute, d.second,
                                                        d.microsecond, tid, src, msg)


# ---------------------------------------------------------------------------------------------
# GitLab CI job traces
# ---------------------------------------------------------------------------------------------

class Trace:
    """Raw job trace bytes as the runner sends them (formats.md 4.1-4.4).

    Clock: times are the runner host's clock (true + offset). With timestamps=True every line gets the
    FF_TIMESTAMPS prefix `2026-03-25T10:00:00.123456Z 00O ` (stream 00, O/E, ' ' or '+').
    """

    def __init__(self, rng, clock_offset_us=0, timestamps=False):
        self.rng = rng
        self.off = clock_offset_us
        self.ts = timestamps
        self.buf = []
        self.t = 0
        self.plus = False

    def at(self, t_true):
        self.t = t_true

    def adv(self, a_ms, b_ms=None):
        self.t += int((a_ms if b_ms is None else self.rng.uniform(a_ms, b_ms)) * 1000)

    def _prefix(self, stream="O"):
        if not self.ts:
            return ""
        return "%s 00%s%s" % (iso_z(self.t + self.off), stream, "+" if self.plus else " ")

    def raw(self, s, stream="O"):
        """One Write() of the job output. With timestamps (timestamper.go): a write holding `\r` but
        no `\n` is flushed with a `\n` appended and the next entry is flagged `+`."""
        self.t += self.rng.randrange(800, 45000)  # every write takes a little wall time
        if not self.ts:
            self.buf.append(s)
            return
        pre = self._prefix(stream)
        if "\n" not in s and "\r" in s:
            self.buf.append(pre + s + "\n")
            self.plus = True
        else:
            self.buf.append(pre + s)
            self.plus = False

    def line(self, s="", stream="O"):
        self.raw(s + "\n", stream)

    def runner(self, s):
        """Runner-side line (Println): ESC[0K + text + ESC[0;m + \\n."""
        self.line(A_CLEAR + s + A_RESET)

    def info(self, s):
        self.line(A_BOLD_GREEN + s + A_RESET)

    def warning(self, s):
        self.line(A_YELLOW + "WARNING: " + s + A_RESET)

    def error(self, s):
        self.line(A_BOLD_RED + "ERROR: " + s + A_RESET)

    def cmd(self, s):
        self.line(A_BOLD_GREEN + "$ " + s + A_RESET)

    def _unix(self):
        return (self.t + self.off) // 1_000_000

    def section_start(self, name, title, opts=""):
        self.raw("section_start:%d:%s%s\r%s%s%s%s%s\n" % (self._unix(), name, opts, A_CLEAR, A_CLEAR, A_BOLD_CYAN, title, A_RESET))

    def section_end(self, name):
        self.raw("section_end:%d:%s\r%s" % (self._unix(), name, A_CLEAR))

    def progress(self, frames, stream="E"):
        """A `\r` redraw sequence, e.g. curl/attic progress. The last frame ends with \n."""
        for i, fr in enumerate(frames):
            self.raw(fr + ("\n" if i == len(frames) - 1 else "\r"), stream)
            self.adv(180, 420)

    def bytes(self):
        return "".join(self.buf).encode("utf-8")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(path, "wb") as fh:
        fh.write(data)


# ---------------------------------------------------------------------------------------------
# README helpers: find where a planted line landed (1-based physical line, LF-counted)
# ---------------------------------------------------------------------------------------------

def locate(path, needle, nth=1):
    """Line number of the nth line of `path` holding `needle` (bytes or str); 0 if absent."""
    with open(path, "rb") as fh:
        data = fh.read()
    if isinstance(needle, str):
        needle = needle.encode()
    pos = -1
    for _ in range(nth):
        pos = data.find(needle, pos + 1)
        if pos < 0:
            return 0
    pos += len(needle) - len(needle.lstrip(b"\n"))  # a needle may start with "\n" to anchor a whole line
    eol = b"\n" if b"\n" in data else b"\r"  # a CR-only file counts CR as its line end
    return data.count(eol, 0, pos) + 1


class Evidence:
    """Collects `(what, file, needle)` and renders a Markdown table with file:line."""

    def __init__(self, root):
        self.root = root
        self.rows = []

    def add(self, what, rel, needle, nth=1):
        ln = locate(os.path.join(self.root, rel), needle, nth)
        if ln == 0:
            raise SystemExit("planted signal not found: %s in %s: %r" % (what, rel, needle))
        self.rows.append((what, "%s:%d" % (rel, ln), needle if isinstance(needle, str) else needle.decode()))

    def table(self):
        out = ["| signal | where | text |", "| --- | --- | --- |"]
        for what, where, needle in self.rows:
            n = needle.strip("\n").replace("|", "\\|").replace("\x1b", "ESC").replace("\n", "\\n")
            out.append("| %s | `%s` | `%s` |" % (what, where, n[:110]))
        return "\n".join(out)


def rfc3339(t_us, tz=UTC, digits=6, colon=True):
    """2025-06-02T10:00:00.123456+05:30 (digits=0: no fraction); Z is not used."""
    d = to_dt(t_us, tz)
    off = int(d.utcoffset().total_seconds()) // 60
    sign = "+" if off >= 0 else "-"
    frac = ("." + ("%06d" % d.microsecond)[:digits]) if digits else ""
    return d.strftime("%Y-%m-%dT%H:%M:%S") + frac + ("%s%02d%s%02d" % (sign, abs(off) // 60, ":" if colon else "", abs(off) % 60))


def rfc3339nano(t_us, tz, rng):
    """Go time.RFC3339Nano in a zone: trailing zeros trimmed, numeric offset (Z for UTC)."""
    d = to_dt(t_us, tz)
    ns = d.microsecond * 1000 + rng.randrange(1000)
    frac = ("%09d" % ns).rstrip("0")
    off = int(d.utcoffset().total_seconds()) // 60
    z = "Z" if off == 0 else "%s%02d:%02d" % ("+" if off > 0 else "-", abs(off) // 60, abs(off) % 60)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ("." + frac if frac else "") + z


def every(rng, t0, t1, period_s, jit=0.3):
    """Times from t0 to t1 about every period_s seconds (±jit)."""
    t = t0 + rng.randrange(0, max(1, int(period_s * 1e6)))
    while t < t1:
        yield t
        t += int(period_s * 1e6 * rng.uniform(1 - jit, 1 + jit))


def kmsg_lines(records, start_seq=1000, dev=None):
    """/dev/kmsg records `prio,seq,usec,flags;message` (+ ` KEY=VALUE` lines for device messages)."""
    out = []
    for i, (mono, text, prio) in enumerate(records):
        # the kernel escapes non-printable bytes (also an embedded newline) as \xNN in /dev/kmsg
        out.append("%d,%d,%d,-;%s" % (prio, start_seq + i, mono, text.replace("\n", "\\x0a")))
        if dev and text.startswith(dev[0]):
            out.extend(" " + kv for kv in dev[1])
    return "\n".join(out) + "\n"

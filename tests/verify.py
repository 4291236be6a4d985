#!/usr/bin/env python3
# tests/verify.py: reads a file with many threads and checks every byte against a
# local copy.  Meant to run under the shim, where PATH is a virtual (remote) file
# and TRUTH is the original bytes on local disk.
#
#   verify.py PATH TRUTH [--threads 8] [--reads N | --duration S] [--seed S]
#             [--sequential-passes K] [--expect-errno ESTALE[,EIO]]...
#             [--max-len 262144] [--max-read-seconds X] [--time-limit S] [--json F]
#
# --threads workers share one descriptor and issue pread()s of 1 byte .. --max-len
# at random offsets (about 1 in 20 crossing EOF, 1 in 40 wholly past it); with
# --reads they share N reads, with --duration they run until time is up.
# --sequential-passes adds K more workers, each reading the whole file front to
# back with read() on a descriptor of its own (looping over passes in --duration
# mode).  Short reads are continued like a careful program would; a read that
# returns 0 before EOF is counted as premature_eof.
#
# Prints one summary line and exits 1 if any byte was wrong, a read failed with
# an errno not given to --expect-errno, data ended early, the size was wrong, or
# a read took longer than --max-read-seconds.  --time-limit makes it print what
# is still in progress and exit 3 instead of hanging.

import argparse
import errno
import json
import mmap
import os
import random
import sys
import threading
import time


def errno_value(tok):
    tok = tok.strip()
    if tok.isdigit():
        return int(tok)
    v = getattr(errno, tok.upper(), None)
    if not isinstance(v, int):
        raise argparse.ArgumentTypeError("unknown errno %r" % tok)
    return v


def errno_name(v):
    return errno.errorcode.get(v, str(v))


class Verifier:
    def __init__(self, o):
        self.o = o
        self.lock = threading.Lock()
        self.tf = open(o.truth, "rb")
        self.size = os.fstat(self.tf.fileno()).st_size
        self.truth = mmap.mmap(self.tf.fileno(), 0, prot=mmap.PROT_READ) if self.size else b""
        self.allowed = set()
        for group in o.expect_errno:
            for tok in group.split(","):
                if tok.strip():
                    self.allowed.add(errno_value(tok))
        self.c = dict(reads_ok=0, bytes_ok=0, reads_failed=0, wrong_bytes=0, wrong_reads=0,
                      short_reads=0, premature_eof=0, past_eof_ok=0, passes_done=0,
                      slow_reads=0, size_mismatch=0, open_failed=0)
        self.failed_by_errno = {}
        self.longest = 0.0
        self.longest_at = None
        self.longest_failed = 0.0
        self.total_read_time = 0.0
        self.mismatches = []
        self.inflight = {}
        self.next_task = 0
        self.start = time.monotonic()
        self.stop_at = self.start + o.duration if o.duration else None

    # -- bookkeeping -----------------------------------------------------------

    def add(self, key, n=1):
        with self.lock:
            self.c[key] += n

    def timed(self, what, fn, *args):
        """Run one read syscall; record its time.  Returns (bytes, None) or (None, errno)."""
        me = threading.get_ident()
        t0 = time.monotonic()
        with self.lock:
            self.inflight[me] = (what, t0)
        err = None
        data = None
        try:
            data = fn(*args)
        except OSError as e:
            err = e.errno
        dt = time.monotonic() - t0
        with self.lock:
            del self.inflight[me]
            self.total_read_time += dt
            if dt > self.longest:
                self.longest, self.longest_at = dt, what
            if err is not None:
                self.longest_failed = max(self.longest_failed, dt)
                self.c["reads_failed"] += 1
                self.failed_by_errno[err] = self.failed_by_errno.get(err, 0) + 1
            if self.o.max_read_seconds and dt > self.o.max_read_seconds:
                self.c["slow_reads"] += 1
        if err is not None and self.o.verbose:
            print("verify: %s failed after %.3fs: %s" % (what, dt, os.strerror(err)),
                  file=sys.stderr, flush=True)
        return data, err

    def check(self, off, data, what):
        """Compare data read at off with the truth."""
        n = len(data)
        want = self.truth[off:off + n] if off < self.size else b""
        if data == want:
            with self.lock:
                self.c["reads_ok"] += 1
                self.c["bytes_ok"] += n
            return True
        bad = n - len(want)       # bytes returned past EOF are all wrong
        first = None
        for i in range(len(want)):
            if data[i] != want[i]:
                bad += 1
                if first is None:
                    first = i
        if first is None:
            first = len(want)
        with self.lock:
            self.c["wrong_bytes"] += bad
            self.c["wrong_reads"] += 1
            if len(self.mismatches) < 10:
                self.mismatches.append((what, off, n, off + first, bad))
        print("verify: WRONG DATA %s: %d bytes at offset %d, %d wrong, first at %d"
              % (what, n, off, bad, off + first), file=sys.stderr, flush=True)
        return False

    # -- workers -----------------------------------------------------------------

    def take(self):
        with self.lock:
            if self.stop_at is not None:
                if time.monotonic() >= self.stop_at:
                    return None
            elif self.next_task >= self.o.reads:
                return None
            k = self.next_task
            self.next_task += 1
            return k

    def random_worker(self, fd):
        o = self.o
        while True:
            k = self.take()
            if k is None:
                return
            r = random.Random(o.seed * 1000003 + k)
            length = r.randint(1, o.max_len)
            kind = r.random()
            if kind < 0.025 or self.size == 0:
                off = self.size + r.randint(0, 2 * o.max_len)            # wholly past EOF
            elif kind < 0.075 and self.size > 1:
                length = max(length, 2)
                off = max(0, self.size - r.randint(1, length - 1))       # across EOF
            else:
                off = r.randrange(0, self.size)
            self.pread_checked(fd, off, length)

    def pread_checked(self, fd, off, length):
        expect = max(0, min(length, self.size - off))
        got = 0
        while got < length:
            what = "pread(%d, off=%d)" % (length - got, off + got)
            data, err = self.timed(what, os.pread, fd, length - got, off + got)
            if err is not None:
                if err not in self.allowed:
                    print("verify: %s: unexpected error %s" % (what, errno_name(err)),
                          file=sys.stderr, flush=True)
                return
            if not data:
                break
            self.check(off + got, data, what)
            got += len(data)
            if got < expect:
                self.add("short_reads")
        if got < expect:
            self.add("premature_eof")
            print("verify: premature EOF: pread(%d, off=%d) ended after %d of %d bytes"
                  % (length, off, got, expect), file=sys.stderr, flush=True)
        elif expect == 0:
            self.add("past_eof_ok")

    def sequential_worker(self, idx):
        o = self.o
        p = 0
        while True:
            if self.stop_at is None and p >= 1:
                return
            if self.stop_at is not None and time.monotonic() >= self.stop_at:
                return
            r = random.Random(o.seed * 7919 + idx * 104729 + p)
            bs = r.choice([4096, 65536, 131072, 1 << 20, r.randint(1000, 300000)])
            self.sequential_pass(bs, "pass %d.%d bs=%d" % (idx, p, bs))
            p += 1

    def sequential_pass(self, bs, name):
        try:
            fd = os.open(self.o.path, os.O_RDONLY)
        except OSError as e:
            self.add("open_failed")
            with self.lock:
                self.failed_by_errno[e.errno] = self.failed_by_errno.get(e.errno, 0) + 1
            print("verify: %s: open: %s" % (name, os.strerror(e.errno)), file=sys.stderr)
            if e.errno in self.allowed:
                time.sleep(0.1)
            return
        try:
            pos = 0
            while True:
                if self.stop_at is not None and time.monotonic() >= self.stop_at:
                    return
                what = "%s read(%d) at %d" % (name, bs, pos)
                data, err = self.timed(what, os.read, fd, bs)
                if err is not None:
                    if err not in self.allowed:
                        print("verify: %s: unexpected error %s" % (what, errno_name(err)),
                              file=sys.stderr, flush=True)
                        return
                    # Skip the block that failed and carry on, like dd conv=noerror.
                    pos = os.lseek(fd, min(pos + bs, self.size), os.SEEK_SET)
                    if pos >= self.size:
                        break
                    continue
                if not data:
                    break
                self.check(pos, data, what)
                pos += len(data)
                if len(data) < bs and pos < self.size:
                    self.add("short_reads")
            if pos < self.size:
                self.add("premature_eof")
                print("verify: premature EOF: %s ended at %d of %d" % (name, pos, self.size),
                      file=sys.stderr, flush=True)
            self.add("passes_done")
        finally:
            os.close(fd)

    # -- driver ------------------------------------------------------------------

    def report(self, status):
        o = self.o
        c = dict(self.c)
        el = time.monotonic() - self.start
        calls = c["reads_ok"] + c["reads_failed"] + c["wrong_reads"]
        fails = ",".join("%s:%d" % (errno_name(e), n) for e, n in sorted(self.failed_by_errno.items()))
        line = ("verify: reads_ok=%d reads_failed=%d failed_by_errno=%s wrong_bytes=%d wrong_reads=%d "
                "short_reads=%d premature_eof=%d past_eof_ok=%d passes=%d bytes_ok=%d "
                "longest_read=%.3fs longest_failed_read=%.3fs mean_read=%.4fs slow_reads=%d "
                "elapsed=%.1fs MB/s=%.1f result=%s"
                % (c["reads_ok"], c["reads_failed"], fails or "none", c["wrong_bytes"],
                   c["wrong_reads"], c["short_reads"], c["premature_eof"], c["past_eof_ok"],
                   c["passes_done"], c["bytes_ok"], self.longest, self.longest_failed,
                   self.total_read_time / calls if calls else 0.0, c["slow_reads"], el,
                   c["bytes_ok"] / el / 1e6 if el > 0 else 0.0, status))
        print(line, flush=True)
        if self.longest_at:
            print("verify: longest read was %s" % self.longest_at, flush=True)
        for m in self.mismatches:
            print("verify: mismatch %s: offset %d, %d bytes, first wrong byte at %d, %d wrong" % m,
                  flush=True)
        if o.json:
            d = dict(c)
            d.update(failed_by_errno={errno_name(e): n for e, n in self.failed_by_errno.items()},
                     longest_read=self.longest, longest_failed_read=self.longest_failed,
                     elapsed=el, result=status, size=self.size)
            with open(o.json, "w") as f:
                json.dump(d, f, indent=1, sort_keys=True)
                f.write("\n")

    def verdict(self):
        c = self.c
        why = []
        if c["wrong_bytes"] or c["wrong_reads"]:
            why.append("wrong data")
        bad = {e: n for e, n in self.failed_by_errno.items() if e not in self.allowed}
        if bad:
            why.append("unexpected errno " + ",".join(errno_name(e) for e in bad))
        if c["premature_eof"]:
            why.append("premature EOF")
        if c["size_mismatch"]:
            why.append("size mismatch")
        if c["slow_reads"]:
            why.append("%d reads over %.1fs" % (c["slow_reads"], self.o.max_read_seconds))
        return why

    def watchdog(self, done):
        if not self.o.time_limit:
            return
        if done.wait(self.o.time_limit):
            return
        now = time.monotonic()
        with self.lock:
            stuck = [(what, now - t0) for what, t0 in self.inflight.values()]
        for what, age in stuck:
            print("verify: still in progress after %.1fs: %s" % (age, what), file=sys.stderr)
        self.report("TIMEOUT")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(3)

    def run(self):
        o = self.o
        try:
            fd = os.open(o.path, os.O_RDONLY)
        except OSError as e:
            print("verify: open %s: %s" % (o.path, os.strerror(e.errno)), file=sys.stderr)
            return 2
        st = os.fstat(fd)
        end = os.lseek(fd, 0, os.SEEK_END)
        if st.st_size != self.size or end != self.size:
            self.c["size_mismatch"] += 1
            print("verify: size mismatch: fstat %d, SEEK_END %d, truth %d"
                  % (st.st_size, end, self.size), file=sys.stderr)
        done = threading.Event()
        threading.Thread(target=self.watchdog, args=(done,), daemon=True).start()
        ts = [threading.Thread(target=self.random_worker, args=(fd,)) for _ in range(o.threads)]
        ts += [threading.Thread(target=self.sequential_worker, args=(i,))
               for i in range(o.sequential_passes)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        done.set()
        os.close(fd)
        why = self.verdict()
        self.report("FAIL(%s)" % "; ".join(why) if why else "PASS")
        return 1 if why else 0


def main():
    ap = argparse.ArgumentParser(description="check a file's bytes against a local copy")
    ap.add_argument("path")
    ap.add_argument("truth")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--reads", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=0.0,
                    help="run for this many seconds instead of --reads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sequential-passes", type=int, default=0)
    ap.add_argument("--expect-errno", action="append", default=[],
                    help="errno (name or number) a read may fail with; repeatable")
    ap.add_argument("--max-len", type=int, default=256 * 1024)
    ap.add_argument("--max-read-seconds", type=float, default=0.0)
    ap.add_argument("--time-limit", type=float, default=0.0)
    ap.add_argument("--json")
    ap.add_argument("-v", "--verbose", action="store_true")
    o = ap.parse_args()
    return Verifier(o).run()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# tests/vm/strace-report.sh: what a program under the shim asked the kernel
# about its virtual files.
#
#   tests/vm/strace-report.sh STRACE_LOG VIRTUAL_PATH
#
# STRACE_LOG comes from strace -f -y -e trace=desc,file. The shim serves a
# virtual path without the kernel, so the report lists:
#   - system calls that still named VIRTUAL_PATH (they bypassed the shim:
#     glibc-internal calls, raw syscalls),
#   - system calls made on the shim's O_PATH descriptors (the image's fd as
#     the kernel sees it) other than the shim's own bookkeeping, grouped by
#     call and result; EBADF there means a call reached the kernel instead of
#     the shim,
#   - io_uring and Linux AIO set-up calls (engines that bypass libc).
# The report is printed and also written to $STRACE_REPORT (default
# strace.report beside the log).
set -eu
log=$1 vpath=$2
report=${STRACE_REPORT:-$(dirname "$log")/strace.report}
python3 - "$log" "$vpath" > "$report" <<'PY'
import collections, re, sys
log, vpath = sys.argv[1], sys.argv[2]
line_re = re.compile(r'^(?:\[pid\s+)?(\d+)\]?\s+(.*)$')
call_re = re.compile(r'^(\w+)\((.*)\)\s+=\s+(.*)$')
pending = {}
calls = []
for raw in open(log, errors="replace"):
    raw = raw.rstrip("\n")
    m = line_re.match(raw)
    if not m:
        continue
    pid, rest = m.groups()
    if rest.endswith("<unfinished ...>"):
        pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
        continue
    r = re.match(r'^<\.\.\. (\w+) resumed>\s*(.*)$', rest)
    if r:
        rest = pending.pop(pid, r.group(1) + "(") + r.group(2)
    c = call_re.match(rest)
    if c:
        calls.append((pid, c.group(1), c.group(2), c.group(3)))

def result(ret):
    ret = ret.strip()
    e = re.match(r'^-1 (E\w+)', ret)
    return e.group(1) if e else "ok"

by_path = collections.Counter()
on_fd = collections.Counter()
engines = collections.Counter()
opath = set()
opened = 0
first_arg = re.compile(r'^(-?\d+)(<[^>]*>)?')
for pid, name, args, ret in calls:
    if ('"' + vpath) in args and name not in ("execve", "write", "writev", "pwrite64", "sendmsg", "sendto"):
        by_path["%s -> %s" % (name, result(ret))] += 1
    if name in ("io_uring_setup", "io_uring_enter", "io_uring_register", "io_setup", "io_submit"):
        engines["%s -> %s" % (name, result(ret))] += 1
    fa = first_arg.match(args)
    fd = int(fa.group(1)) if fa else None
    if name in ("openat", "open", "openat2") and "O_PATH" in args:
        n = first_arg.match(ret)
        if n and int(n.group(1)) >= 0:
            opath.add(int(n.group(1)))
            opened += 1
        continue
    if fd is None or fd not in opath:
        continue
    if name in ("close",):
        opath.discard(fd)
        continue
    if name in ("dup", "dup2", "dup3") or (name == "fcntl" and "F_DUPFD" in args):
        n = first_arg.match(ret)
        if n and int(n.group(1)) >= 0:
            opath.add(int(n.group(1)))
    detail = name
    if name in ("fcntl", "ioctl"):
        cmd = args.split(",")[1].strip() if "," in args else ""
        detail = "%s %s" % (name, cmd)
    on_fd["%s -> %s" % (detail, result(ret))] += 1

def show(title, counter):
    print(title + (":" if counter else ": none"))
    for k, v in sorted(counter.items(), key=lambda kv: -kv[1]):
        print("  %6d  %s" % (v, k))
print("system calls parsed: %d; O_PATH descriptors opened: %d" % (len(calls), opened))
show("calls naming %s (bypassed the shim)" % vpath, by_path)
show("calls on the shim's O_PATH descriptors (open and close aside)", on_fd)
show("io_uring / Linux AIO", engines)
bad = sum(v for k, v in on_fd.items() if k.endswith("EBADF"))
print("EBADF on the image descriptor: %d" % bad)
PY
cat "$report"

#!/usr/bin/env python3
# tests/origin/fault_origin.py: a small HTTP/1.1 origin that misbehaves on purpose.
#
# Serves the files under --root read-only on 127.0.0.1, with keep-alive, GET/HEAD,
# single byte ranges (206 + Content-Range, 416), a strong ETag, Last-Modified and
# the conditionals a range client relies on (If-Match, If-Unmodified-Since,
# If-None-Match, If-Modified-Since, If-Range).  On top of that it injects faults
# into a seeded, reproducible fraction of the range GETs:
#
#   503        503 Service Unavailable with Retry-After
#   429        429 Too Many Requests with Retry-After
#   reset      206 headers, part of the body, then a TCP reset
#   short      206 headers, part of the body, then a clean close
#   stall      206 headers, part of the body, then silence (bounded), then close
#   full200    200 with the whole object, Range ignored
#   wrongrange 206 whose bytes and Content-Range are those of another offset
#
# Whether range request number k is faulty, and how, depends only on --seed and k.
# --replace-after N atomically replaces the object of the (N+1)th range request
# with different bytes (every byte inverted, same size, new ETag, Last-Modified
# moved forward); GET /__replace?path=/x does the same on demand.
# GET /__stats returns the counters as JSON; /__ URLs are never faulted.
#
# Usage: fault_origin.py --root DIR [--port 0] [--port-file F] [--seed N]
#            [--fault-rate F] [--faults 503,429,reset,short,stall,full200,wrongrange]
#            [--fault-head] [--no-fault-range] [--stall-seconds S] [--retry-after S]
#            [--replace-after N] [--delay-ms MS] [--etag strong|weak|none] [--log FILE]
#
# --etag weak sends W/"..." (which never satisfies If-Match: strong comparison);
# --etag none sends no ETag, leaving Last-Modified as the only validator.
# --gzip-ranges compresses every 206 body on the fly (Content-Encoding: gzip, the
# Content-Range asked for, the compressed length), whatever Accept-Encoding says.

import argparse
import email.utils
import gzip
import json
import os
import random
import select
import stat
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALL_FAULTS = ("503", "429", "reset", "short", "stall", "full200", "wrongrange")
MAX_SLEEP = 60.0            # no sleep anywhere is longer than this
IO_SIZE = 256 * 1024


class State:
    """Counters and fault decisions shared by all handler threads."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.replace_lock = threading.Lock()
        self.c = {
            "requests": 0, "get": 0, "head": 0, "range_get": 0, "full_get": 0,
            "multi_range": 0, "status": {}, "faults": {k: 0 for k in opts.faults},
            "faults_total": 0, "inflight": 0, "max_inflight": 0,
            "connections": 0, "max_connections": 0, "connections_total": 0,
            "bytes_sent": 0, "precondition_failed": 0, "not_modified": 0,
            "range_get_with_if_match": 0, "range_get_with_if_unmodified_since": 0,
            "range_get_without_validator": 0, "if_range": 0,
            "replacements": [], "control_requests": 0,
        }
        self.range_seq = 0
        self.head_seq = 0
        self.replaced = False

    def bump(self, key, n=1):
        with self.lock:
            self.c[key] += n

    def status(self, code):
        with self.lock:
            s = self.c["status"]
            s[str(code)] = s.get(str(code), 0) + 1

    def enter(self):
        with self.lock:
            self.c["inflight"] += 1
            self.c["max_inflight"] = max(self.c["max_inflight"], self.c["inflight"])

    def leave(self):
        with self.lock:
            self.c["inflight"] -= 1

    def fault_for(self, space, k):
        """The fault for request number k of a space ('range' or 'head'), or None."""
        o = self.opts
        if o.fault_rate <= 0 or not o.faults:
            return None
        r = random.Random(o.seed * 1000003 + k * 7 + (1 if space == "head" else 0))
        if r.random() >= o.fault_rate:
            return None
        return r.choice(o.faults)

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.c))


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def parse_http_date(value):
    try:
        d = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if d is None:
        return None
    return d.timestamp()


def etag_of(st):
    return '"%x-%x-%x"' % (st.st_ino, st.st_size, st.st_mtime_ns)


def etag_list(value):
    return [v.strip() for v in value.split(",") if v.strip()]


def strong_match(tag, current):
    return not tag.startswith("W/") and tag == current


def replace_object(fspath):
    """Atomically replace fspath with its bytes inverted; return the new ETag."""
    st = os.stat(fspath)
    tmp = "%s.replace.%d.%d" % (fspath, os.getpid(), threading.get_ident())
    table = bytes(255 - i for i in range(256))
    with open(fspath, "rb") as src, open(tmp, "wb") as dst:
        while True:
            b = src.read(1 << 20)
            if not b:
                break
            dst.write(b.translate(table))
    new_mtime = max(int(time.time()), int(st.st_mtime)) + 2
    os.utime(tmp, (new_mtime, new_mtime))
    os.rename(tmp, fspath)
    return etag_of(os.stat(fspath))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-origin/1"
    timeout = 120           # idle keep-alive connections are dropped after this

    # -- connection bookkeeping ------------------------------------------------

    def setup(self):
        super().setup()
        self._rst = False
        st = self.server.state
        with st.lock:
            st.c["connections"] += 1
            st.c["connections_total"] += 1
            st.c["max_connections"] = max(st.c["max_connections"], st.c["connections"])

    def finish(self):
        try:
            super().finish()
        finally:
            st = self.server.state
            with st.lock:
                st.c["connections"] -= 1
            if self._rst:
                # Linger 0 + close sends RST instead of FIN.
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.connection.close()
                except OSError:
                    pass

    def log_request(self, code="-", size="-"):
        pass

    def log_message(self, fmt, *args):
        pass

    def access_log(self, code, sent, fault, t0):
        lf = self.server.logfile
        if lf is None:
            return
        line = '%s %d "%s" "%s" %.3f fault=%s\n' % (
            code, sent, self.headers.get("Range", "-") if self.headers else "-",
            self.requestline, time.monotonic() - t0, fault or "-")
        with self.server.state.lock:
            lf.write(line)
            lf.flush()

    # -- helpers ---------------------------------------------------------------

    def write(self, data):
        self.wfile.write(data)
        self.server.state.bump("bytes_sent", len(data))
        return len(data)

    def send_file(self, fd, start, length):
        """Send length bytes of fd from start; return bytes sent."""
        sent = 0
        while sent < length:
            b = os.pread(fd, min(IO_SIZE, length - sent), start + sent)
            if not b:
                break
            sent += self.write(b)
        return sent

    def simple(self, code, body=b"", extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.write(body)
        self.server.state.status(code)
        return code, len(body)

    def wait_stall(self, seconds):
        """Stay silent for up to seconds; stop early when the client hangs up."""
        end = time.monotonic() + min(seconds, MAX_SLEEP)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                r, _, _ = select.select([self.connection], [], [], min(left, 0.2))
                if r and self.connection.recv(1, socket.MSG_PEEK) == b"":
                    return
            except OSError:
                return

    def resolve(self, urlpath):
        root = self.server.root
        p = urllib.parse.unquote(urlpath)
        full = os.path.normpath(os.path.join(root, p.lstrip("/")))
        if full != root and not full.startswith(root + os.sep):
            return None
        return full

    # -- methods ---------------------------------------------------------------

    def do_HEAD(self):
        self.serve()

    def do_GET(self):
        self.serve()

    def do_POST(self):
        self.simple(405, b"read-only\n", [("Allow", "GET, HEAD")])

    do_PUT = do_DELETE = do_PATCH = do_POST

    def serve(self):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/__"):
            self.control(url)
            return
        st.enter()
        t0 = time.monotonic()
        code, sent, fault = 0, 0, None
        try:
            code, sent, fault = self.serve_object(url.path)
        except (BrokenPipeError, ConnectionResetError, socket.timeout, TimeoutError):
            self.close_connection = True
        finally:
            st.leave()
            self.access_log(code, sent, fault, t0)

    def control(self, url):
        st = self.server.state
        st.bump("control_requests")
        if url.path == "/__stats":
            body = (json.dumps(st.snapshot(), indent=1, sort_keys=True) + "\n").encode()
            self.simple(200, body, [("Content-Type", "application/json"),
                                    ("Cache-Control", "no-store")])
        elif url.path == "/__replace":
            q = urllib.parse.parse_qs(url.query)
            path = q.get("path", [""])[0]
            full = self.resolve(path)
            if not full or not os.path.isfile(full):
                self.simple(404, b"no such object\n")
                return
            with st.replace_lock:
                tag = replace_object(full)
            with st.lock:
                st.c["replacements"].append({"path": path, "at_request": st.range_seq,
                                             "etag": tag})
            self.simple(200, (json.dumps({"etag": tag}) + "\n").encode(),
                        [("Content-Type", "application/json")])
        else:
            self.simple(404, b"unknown control URL\n")

    def serve_object(self, urlpath):
        st = self.server.state
        o = self.server.opts
        is_head = self.command == "HEAD"
        st.bump("requests")
        st.bump("head" if is_head else "get")
        rng = self.headers.get("Range")

        fault = None
        k = 0
        if is_head:
            if o.fault_head:
                with st.lock:
                    st.head_seq += 1
                    k = st.head_seq
                fault = st.fault_for("head", k)
        elif rng is not None:
            with st.lock:
                st.range_seq += 1
                k = st.range_seq
            st.bump("range_get")
            if o.replace_after and k > o.replace_after and not st.replaced:
                full = self.resolve(urlpath)
                with st.replace_lock:
                    if not st.replaced and full and os.path.isfile(full):
                        tag = replace_object(full)
                        st.replaced = True
                        with st.lock:
                            st.c["replacements"].append(
                                {"path": urlpath, "at_request": k, "etag": tag})
            fault = None if o.no_fault_range else st.fault_for("range", k)
            if self.headers.get("If-Match"):
                st.bump("range_get_with_if_match")
            if self.headers.get("If-Unmodified-Since"):
                st.bump("range_get_with_if_unmodified_since")
            if not self.headers.get("If-Match") and not self.headers.get("If-Unmodified-Since") \
                    and not self.headers.get("If-Range"):
                st.bump("range_get_without_validator")
        else:
            st.bump("full_get")

        if o.delay_ms > 0:
            time.sleep(min(o.delay_ms / 1000.0, MAX_SLEEP))

        def count_fault(kind):
            with st.lock:
                st.c["faults"][kind] = st.c["faults"].get(kind, 0) + 1
                st.c["faults_total"] += 1

        # Busy answers come before anything else, like an overloaded front end.
        if fault in ("503", "429"):
            count_fault(fault)
            code, n = self.simple(int(fault), b"try again later\n",
                                  [("Retry-After", str(o.retry_after))])
            return code, n, fault
        if is_head and fault in ("reset", "short", "stall"):
            count_fault(fault)
            if fault == "stall":
                self.wait_stall(o.stall_seconds)
            self._rst = fault == "reset"
            self.close_connection = True
            return 0, 0, fault
        if is_head and fault is not None:
            fault = None        # full200/wrongrange mean nothing for HEAD

        full = self.resolve(urlpath)
        if full is None:
            return self.simple(403, b"forbidden\n") + (None,)
        try:
            fd = os.open(full, os.O_RDONLY)
        except FileNotFoundError:
            return self.simple(404, b"not found\n") + (None,)
        except OSError:
            return self.simple(403, b"forbidden\n") + (None,)
        try:
            fst = os.fstat(fd)
            if not stat.S_ISREG(fst.st_mode):
                return self.simple(404, b"not a file\n") + (None,)
            return self.serve_fd(fd, fst, rng, fault, count_fault, k)
        finally:
            os.close(fd)

    def serve_fd(self, fd, fst, rng, fault, count_fault, k):
        o = self.server.opts
        st = self.server.state
        size = fst.st_size
        etag = etag_of(fst)
        if o.etag == "weak":
            etag = "W/" + etag
        mtime = int(fst.st_mtime)
        common = [("Last-Modified", http_date(mtime)), ("Accept-Ranges", "bytes")]
        if o.etag != "none":
            common.insert(0, ("ETag", etag))
        else:
            etag = None         # nothing can match it

        # Preconditions (RFC 9110 section 13.2.2 order).
        im = self.headers.get("If-Match")
        ius = self.headers.get("If-Unmodified-Since")
        if im is not None:
            tags = etag_list(im)
            if "*" not in tags and not (etag and any(strong_match(t, etag) for t in tags)):
                st.bump("precondition_failed")
                return self.simple(412, b"precondition failed\n", common) + (None,)
        elif ius is not None:
            t = parse_http_date(ius)
            if t is not None and mtime > t:
                st.bump("precondition_failed")
                return self.simple(412, b"precondition failed\n", common) + (None,)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm is not None:
            tags = etag_list(inm)
            if "*" in tags or (etag and any(t.replace("W/", "", 1) == etag.replace("W/", "", 1)
                                            for t in tags)):
                st.bump("not_modified")
                return self.simple(304, b"", common) + (None,)
        elif ims is not None:
            t = parse_http_date(ims)
            if t is not None and mtime <= t:
                st.bump("not_modified")
                return self.simple(304, b"", common) + (None,)

        # Range selection.
        start = end = None
        if rng is not None:
            ir = self.headers.get("If-Range")
            if ir is not None:
                st.bump("if_range")
                ir = ir.strip()
                if ir.startswith('"') or ir.startswith("W/"):
                    honour = bool(etag) and strong_match(ir, etag)
                else:
                    t = parse_http_date(ir)
                    honour = t is not None and int(t) == mtime
                if not honour:
                    rng = None
        if rng is not None:
            spec = rng.strip()
            if spec.startswith("bytes=") and "," not in spec:
                a, _, b = spec[6:].strip().partition("-")
                a, b = a.strip(), b.strip()
                try:
                    if a == "" and b != "":
                        n = int(b)
                        if n == 0:
                            return self.simple(416, b"", common + [
                                ("Content-Range", "bytes */%d" % size)]) + (None,)
                        start, end = max(0, size - n), size - 1
                    elif a != "":
                        start = int(a)
                        end = int(b) if b != "" else None
                        if end is not None and end < start:
                            start = end = None          # invalid: ignore the header
                        elif start >= size:
                            return self.simple(416, b"", common + [
                                ("Content-Range", "bytes */%d" % size)]) + (None,)
                        else:
                            end = size - 1 if end is None else min(end, size - 1)
                except ValueError:
                    start = end = None
                if start is not None and size == 0:
                    return self.simple(416, b"", common + [
                        ("Content-Range", "bytes */%d" % size)]) + (None,)
            elif "," in spec:
                st.bump("multi_range")

        is_head = self.command == "HEAD"
        if start is None or fault == "full200":
            if fault == "full200":
                if start is None:
                    fault = None
                else:
                    count_fault(fault)
            self.send_response(200)
            for k, v in common:
                self.send_header(k, v)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            st.status(200)
            sent = 0 if is_head else self.send_file(fd, 0, size)
            return 200, sent, fault

        length = end - start + 1
        r = random.Random(o.seed * 31 + start * 17 + length + k * 1000003)
        if fault == "wrongrange":
            room = size - length
            if room > 0:
                choices = [x for x in (r.randrange(0, room + 1), 0, room) if x != start]
                start = choices[0]
            elif length > 1:
                start, length = 1, length - 1
            else:
                fault = None
            end = start + length - 1
            if fault:
                count_fault(fault)
        elif fault is not None:
            count_fault(fault)

        self.send_response(206)
        for k, v in common:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        if o.gzip_ranges and fault is None:
            body = gzip.compress(os.pread(fd, length, start))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            st.status(206)
            self.write(body)
            return 206, len(body), fault
        self.send_header("Content-Length", str(length))
        self.end_headers()
        st.status(206)
        if fault in ("reset", "short", "stall"):
            cut = r.randrange(0, length) if length > 1 else 0
            sent = self.send_file(fd, start, cut)
            self.wfile.flush()
            if fault == "stall":
                self.wait_stall(o.stall_seconds)
            self._rst = fault == "reset"
            self.close_connection = True
            return 206, sent, fault
        return 206, self.send_file(fd, start, length), fault


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    ap = argparse.ArgumentParser(description="HTTP origin with fault injection")
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default=",".join(ALL_FAULTS))
    ap.add_argument("--fault-head", action="store_true", help="fault HEAD requests too")
    ap.add_argument("--no-fault-range", action="store_true", help="never fault range GETs")
    ap.add_argument("--stall-seconds", type=float, default=30.0)
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--replace-after", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--etag", choices=("strong", "weak", "none"), default="strong",
                    help="send a strong ETag, a weak one (W/...), or none")
    ap.add_argument("--gzip-ranges", action="store_true",
                    help="compress every range's body on the fly")
    ap.add_argument("--log")
    opts = ap.parse_args()
    opts.faults = [f.strip() for f in opts.faults.split(",") if f.strip()]
    bad = [f for f in opts.faults if f not in ALL_FAULTS]
    if bad:
        ap.error("unknown fault kind(s): %s (known: %s)" % (",".join(bad), ",".join(ALL_FAULTS)))
    opts.stall_seconds = min(max(opts.stall_seconds, 0.0), MAX_SLEEP)

    srv = Server(("127.0.0.1", opts.port), Handler)
    srv.opts = opts
    srv.root = os.path.realpath(opts.root)
    srv.state = State(opts)
    srv.logfile = open(opts.log, "a") if opts.log else None
    port = srv.server_address[1]
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, opts.port_file)
    print("fault_origin: listening on 127.0.0.1:%d root=%s" % (port, srv.root),
          file=sys.stderr, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

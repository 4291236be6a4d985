#!/usr/bin/env python3
"""tests/s3/verifying_front.py: a small S3 server of the tests' own that issues temporary
credentials valid a few seconds and checks every request's SigV4 signature with them.

It exists because radosgw cannot expire credentials in seconds (its STS refuses less than
900 s): rotation during one read needs a server that issues credentials lasting seconds
and stops accepting them at their Expiration.  It is a verifier, not a store: it serves
HEAD and GET (ranged or whole, If-Match checked) of the files under --root as
/BUCKET/KEY (path style, any bucket), one thread per connection, keep-alive.

  GET /creds      the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI):
                  with "Authorization: --auth-token" it answers AccessKeyId, SecretAccessKey,
                  Token and an Expiration --lifetime seconds ahead, after --cred-delay
                  seconds (a slow source: a read that waited for a fetch shows)
  HEAD/GET /B/K   refused with 403 and S3's code unless signed (AccessDenied), with an
                  access key it issued (InvalidAccessKeyId), not expired
                  (ExpiredToken: past its Expiration, or revoked early, see
                  --expire-after), with its session token in x-amz-security-token
                  (InvalidToken), an x-amz-date within 15 minutes (RequestTimeTooSkewed),
                  and the signature of the request as received, recomputed with the
                  secret it issued (SignatureDoesNotMatch); host, x-amz-date and
                  x-amz-content-sha256 must be among the signed headers
  --get-delay S   every S3 GET is answered S seconds late (a slow origin: a long read)
  --expire-after N  after the Nth request it answered 2xx, the key that signed it is
                  revoked: the next request signed with it gets ExpiredToken though the
                  shim still holds it as valid

Every answer is a line in --log:
  issue N ACCESS_KEY at=MS expires=MS
  s3 METHOD PATH STATUS CODE|- ACCESS_KEY|- RANGE|- at=MS
(MS: milliseconds since the epoch).  No secret or token is ever written to the log; they
are appended to --secrets, one a line, for the callers' leak checks.
"""
import argparse
import datetime
import email.utils
import hashlib
import hmac
import http.server
import os
import secrets
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sigv4  # noqa: E402  (its sign() is the reference the signatures are checked with)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.keys = {}  # access key -> {"secret", "token", "expires", "revoked"}
        self.issued = 0
        self.good = 0

    def log(self, line):
        with self.lock, open(self.args.log, "a") as f:
            f.write(line + "\n")

    def issue(self):
        time.sleep(self.args.cred_delay)
        secret = "frontSecret" + secrets.token_hex(16)
        token = "frontToken" + secrets.token_hex(24)
        now = time.time()
        with self.lock:
            self.issued += 1
            n = self.issued
            ak = "AKIAFRONT%08d" % n
            self.keys[ak] = {"secret": secret, "token": token,
                             "expires": now + self.args.lifetime, "revoked": False}
        if self.args.secrets:
            with self.lock, open(self.args.secrets, "a") as f:
                f.write(secret + "\n" + token + "\n")
        self.log("issue %d %s at=%d expires=%d" % (n, ak, now * 1000,
                                                     (now + self.args.lifetime) * 1000))
        exp = datetime.datetime.fromtimestamp(now + self.args.lifetime, datetime.timezone.utc)
        return ('{"AccessKeyId": "%s", "SecretAccessKey": "%s", "Token": "%s", '
                '"Expiration": "%s"}' % (ak, secret, token,
                                        exp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")).encode()


def parse_authorization(value):
    """(access key, date, region, service, signed header names, signature) or None."""
    if not value.startswith("AWS4-HMAC-SHA256 "):
        return None
    fields = {}
    for part in value[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    try:
        ak, day, region, service, term = fields["Credential"].split("/")
        names = fields["SignedHeaders"].split(";")
        return ak, day, region, service, term, names, fields["Signature"]
    except (KeyError, ValueError):
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *a):
        pass

    def answer(self, status, body=b"", headers=(), code="-", ak="-", send_body=True):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)
        if self.path.startswith("/creds"):
            return
        self.state.log("s3 %s %s %d %s %s %s at=%d" % (
            self.command, self.path.split("?")[0], status, code, ak,
            (self.headers.get("Range") or "-").replace(" ", ""), time.time() * 1000))

    def s3_error(self, status, code, ak="-"):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                "<Message>refused by the verifying front</Message></Error>" % code).encode()
        self.answer(status, body, [("Content-Type", "application/xml")], code, ak,
                    send_body=self.command != "HEAD")

    def verify(self):
        """The access key when the request is signed as it should be, else None (answered)."""
        st = self.state
        auth = self.headers.get("Authorization")
        if not auth:
            self.s3_error(403, "AccessDenied")
            return None
        p = parse_authorization(auth)
        if not p:
            self.s3_error(400, "AuthorizationHeaderMalformed")
            return None
        ak, day, region, service, term, names, signature = p
        with st.lock:
            key = st.keys.get(ak)
            key = dict(key) if key else None
        if not key:
            self.s3_error(403, "InvalidAccessKeyId", ak)
            return None
        if key["revoked"] or time.time() >= key["expires"]:
            self.s3_error(403, "ExpiredToken", ak)
            return None
        if self.headers.get("x-amz-security-token") != key["token"]:
            self.s3_error(403, "InvalidToken", ak)
            return None
        amz = self.headers.get("x-amz-date") or ""
        try:
            when = datetime.datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            self.s3_error(403, "AccessDenied", ak)
            return None
        if abs(time.time() - when.timestamp()) > 900:
            self.s3_error(403, "RequestTimeTooSkewed", ak)
            return None
        if (service != "s3" or term != "aws4_request" or day != amz[:8] or
                not {"host", "x-amz-date", "x-amz-content-sha256"} <= set(names) or
                names != sorted(names) or
                self.headers.get("x-amz-content-sha256") != EMPTY_SHA256):
            self.s3_error(403, "SignatureDoesNotMatch", ak)
            return None
        # The request as received, signed again with the secret issued for ak.
        raw_path, _, raw_query = self.path.partition("?")
        path = urllib.parse.unquote(raw_path)
        if sigv4.uri_encode(path, True) != raw_path:
            self.s3_error(403, "SignatureDoesNotMatch", ak)  # not the canonical encoding
            return None
        query = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        others = {}
        for n in names:
            v = self.headers.get(n)
            if v is None:
                self.s3_error(403, "SignatureDoesNotMatch", ak)
                return None
            if n not in ("host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"):
                others[n] = v
        want = sigv4.sign(self.command, self.headers.get("host"), path, query, b"", ak,
                          key["secret"], region, token=key["token"], headers=others, now=when)
        if not hmac.compare_digest(want["authorization"], auth.strip()):
            self.s3_error(403, "SignatureDoesNotMatch", ak)
            return None
        return ak

    def served(self, ak):
        """A 2xx answered: counts it, and revokes ak after --expire-after of them."""
        st = self.state
        with st.lock:
            st.good += 1
            if st.args.expire_after and st.good == st.args.expire_after:
                st.keys[ak]["revoked"] = True

    def do_GET(self):
        if self.path == "/creds":
            if self.headers.get("Authorization") != self.state.args.auth_token:
                return self.answer(401)
            return self.answer(200, self.state.issue(), [("Content-Type", "application/json")])
        time.sleep(self.state.args.get_delay)
        self.s3_read(head=False)

    def do_HEAD(self):
        self.s3_read(head=True)

    def do_PUT(self):
        self.s3_error(405, "MethodNotAllowed")

    do_POST = do_DELETE = do_PUT

    def s3_read(self, head):
        ak = self.verify()
        if ak is None:
            return
        parts = urllib.parse.unquote(self.path.split("?")[0]).lstrip("/").split("/", 1)
        rel = parts[1] if len(parts) == 2 else ""
        f = os.path.realpath(os.path.join(self.state.args.root, rel))
        if not rel or not f.startswith(self.state.args.root + "/") or not os.path.isfile(f):
            return self.s3_error(404, "NoSuchKey", ak)
        stt = os.stat(f)
        size = stt.st_size
        etag = '"%s"' % hashlib.md5(("%d:%d" % (size, stt.st_mtime_ns)).encode()).hexdigest()
        common = [("ETag", etag), ("Accept-Ranges", "bytes"),
                  ("Last-Modified", email.utils.formatdate(stt.st_mtime, usegmt=True))]
        im = self.headers.get("If-Match")
        if im is not None and im.strip() != etag:
            return self.s3_error(412, "PreconditionFailed", ak)
        rng = self.headers.get("Range")
        if head:
            self.served(ak)
            return self.head_answer(size, common, ak)
        if not rng:
            with open(f, "rb") as fh:
                body = fh.read()
            self.served(ak)
            return self.answer(200, body, common, ak=ak)
        try:
            unit, _, spec = rng.partition("=")
            a, _, b = spec.partition("-")
            first = int(a)
            last = min(int(b) if b else size - 1, size - 1)
            if unit.strip() != "bytes" or first > last:
                raise ValueError
        except ValueError:
            return self.s3_error(416, "InvalidRange", ak)
        with open(f, "rb") as fh:
            body = os.pread(fh.fileno(), last - first + 1, first)
        self.served(ak)
        self.answer(206, body, common + [("Content-Range", "bytes %d-%d/%d" % (first, last, size))],
                    ak=ak)

    def head_answer(self, size, common, ak):
        self.send_response(200)
        for k, v in common:
            self.send_header(k, v)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.state.log("s3 HEAD %s 200 - %s - at=%d" % (self.path.split("?")[0], ak,
                                                         time.time() * 1000))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--secrets")
    ap.add_argument("--auth-token", required=True)
    ap.add_argument("--lifetime", type=float, default=4.0)
    ap.add_argument("--cred-delay", type=float, default=0.0)
    ap.add_argument("--expire-after", type=int, default=0)
    ap.add_argument("--get-delay", type=float, default=0.0)
    args = ap.parse_args()
    args.root = os.path.realpath(args.root)
    Handler.state = State(args)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""tests/s3/sigv4.py: a small AWS Signature Version 4 client for the tests' S3 server.

Credentials come from the environment (S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION, and
S3_SESSION_TOKEN when set), never from the command line.

  sigv4.py put-many ENDPOINT BUCKET PREFIX COUNT [THREADS]
      PUT COUNT objects PREFIX00000, PREFIX00001, ... each holding its own key and a
      newline, over THREADS (default 8) keep-alive connections; exit 1 on the first
      answer that is not 200, with its status and body.

sign() is importable: it returns the headers of one signed request.
"""
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import threading
import urllib.parse


def uri_encode(s, keep_slash):
    return urllib.parse.quote(s, safe="-._~/" if keep_slash else "-._~")


def sign(method, host, path, query, payload, access_key, secret_key, region,
         service="s3", token=None, headers=None, now=None):
    """Headers (host, x-amz-date, x-amz-content-sha256, authorization, and
    x-amz-security-token with a token) for METHOD on PATH (not yet encoded) with
    QUERY, a list of (name, value) pairs, and PAYLOAD bytes."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload_hash = hashlib.sha256(payload).hexdigest()
    h = {k.lower(): " ".join(v.split()) for k, v in (headers or {}).items()}
    h.update({"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    if token:
        h["x-amz-security-token"] = token
    names = sorted(h)
    canonical_query = "&".join(
        "%s=%s" % (uri_encode(k, False), uri_encode(v, False)) for k, v in sorted(query))
    canonical = "\n".join([method, uri_encode(path, True), canonical_query,
                           "".join("%s:%s\n" % (n, h[n]) for n in names),
                           ";".join(names), payload_hash])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key, scope, ";".join(names), signature)
    return h


def credentials():
    e = os.environ
    return (e["S3_ACCESS_KEY"], e["S3_SECRET_KEY"], e.get("S3_REGION", "us-east-1"),
            e.get("S3_SESSION_TOKEN") or None)


def put_many(endpoint, bucket, prefix, count, threads=8):
    url = urllib.parse.urlsplit(endpoint)
    ak, sk, region, token = credentials()
    errors = []

    def worker(first):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
        for i in range(first, count, threads):
            if errors:
                return
            key = "%s%05d" % (prefix, i)
            body = (key + "\n").encode()
            path = "/%s/%s" % (bucket, key)
            h = sign("PUT", url.netloc, path, [], body, ak, sk, region, token=token)
            try:
                conn.request("PUT", uri_encode(path, True), body=body, headers=h)
                r = conn.getresponse()
                answer = r.read()
            except OSError as e:
                errors.append("PUT %s: %s" % (key, e))
                return
            if r.status != 200:
                errors.append("PUT %s: %d %s" % (key, r.status, answer[:300].decode(errors="replace")))
        conn.close()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        sys.exit("sigv4.py: " + errors[0])


def main(argv):
    if len(argv) >= 5 and argv[0] == "put-many":
        put_many(argv[1], argv[2], argv[3], int(argv[4]), int(argv[5]) if len(argv) > 5 else 8)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

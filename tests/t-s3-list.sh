#!/usr/bin/env bash
# tests/t-s3-list.sh: listings of an s3:// prefix mapping against a real S3 server (Ceph
# radosgw, tests/s3/server.sh, which checks every signature).
#
# A tree of 1,509 keys (1,500 in one "directory", so its listing takes two pages;
# nested prefixes; names with '&', '<', blanks and UTF-8) is uploaded, and the same tree
# made locally.  Unmodified programs under the shim see the mapping as that tree:
# `ls -l` (names, sizes, types), `ls -lR`, `find` (with -type and -size), `du -ab` per
# file and the total of file sizes, `stat -c %F/%a` of a prefix (with and without a
# trailing '/', and of the mapping's root) is directory/555, a file found by find reads
# back its bytes, `tar` of the mapping extracts to the same tree (diff -r), `grep -r`
# finds; python3's os.listdir/os.scandir/os.walk agree (from 8 threads at once, and in
# a forked child); a name that is no prefix is ENOENT, a file opened as a directory
# ENOTDIR.  getdents64, every stream call and scandir (tests/c/dirwalk.c) agree with
# the local copy.  The server's log shows the listings signed (ListObjectsV2 answered
# 200 to the test user) and paginated (continuation tokens), the stats of listed keys
# answered from the listings (no probe of them by ls, find, du), and only signed GETs.
# Errors: a garbled answer, one cut short and a server repeating its continuation token
# are EIO with one line each (fake buckets on nginx); a page of 100,001 keys is
# EOVERFLOW (the cap: never a partial listing); a 503 on every attempt is EIO after the
# retries; a wrong secret is EACCES naming SignatureDoesNotMatch, a missing bucket
# ENOENT naming NoSuchBucket.  An HTTP prefix mapping has no listing: its opendir fails
# with ENOENT (as without listings), open O_DIRECTORY of a path in it with ENOTDIR.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3/server.sh"
require python3 curl find du ls stat sort
require_shim
unset REMOTEIO_MAP REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE \
    AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
    AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export REMOTEIO_TIMEOUT=5 REMOTEIO_DEADLINE=30 REMOTEIO_RETRIES=1 LC_ALL=C
start_s3 $((256 << 20))
B=riolist

# The local tree: big/ with 1,500 files of 0..96 bytes, nested prefixes, odd names.
L=$T/tree
mkdir -p "$L/big" "$L/a/b/c" "$L/odd"
"$PY" - "$L" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(1500):
    with open(os.path.join(root, "big", "f%05d" % i), "wb") as f:
        f.write(bytes((i * 7 + k) % 256 for k in range(i % 97)))
def put(rel, data):
    with open(os.path.join(root, rel), "wb") as f:
        f.write(data)
put("top.txt", b"top\n")
put("a/x.bin", os.urandom(200 * 1024 + 17))
put("a/b/y", b"y" * 4097)
put("a/b/c/deep.txt", b"deep\n")
put("odd/sp ace & amp.txt", b"amp\n")
put("odd/\u00e9t\u00e9.txt".encode().decode(), b"utf8\n")
put("odd/<lt>", b"lt\n")
put("odd/empty", b"")
os.makedirs(os.path.join(root, "odd", "dir \u00e9 & +x"))
put("odd/dir \u00e9 & +x/in", b"in a prefix that needs encoding\n")
PY
nkeys=$(find "$L" -type f | wc -l)

check "bucket made and $nkeys keys uploaded" eval 's3_make_bucket $B && \
    S3_ACCESS_KEY=$S3_ACCESS_KEY S3_SECRET_KEY=$S3_SECRET_KEY S3_REGION=$S3_REGION \
    timeout -k 2 180 "$PY" - "$S3_ENDPOINT" $B "$L" "$TOP/tests/s3" <<'"'"'PY'"'"'
import http.client, os, sys, threading, urllib.parse
sys.path.insert(0, sys.argv[4])
import sigv4
endpoint, bucket, root = sys.argv[1:4]
url = urllib.parse.urlsplit(endpoint)
ak, sk, region, token = sigv4.credentials()
files = sorted(os.path.relpath(os.path.join(d, f), root)
               for d, _, fs in os.walk(root) for f in fs)
errors = []
def worker(part):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
    for rel in part:
        body = open(os.path.join(root, rel), "rb").read()
        path = "/%s/tree/%s" % (bucket, rel)
        h = sigv4.sign("PUT", url.netloc, path, [], body, ak, sk, region, token=token)
        conn.request("PUT", sigv4.uri_encode(path, True), body=body, headers=h)
        r = conn.getresponse(); r.read()
        if r.status != 200:
            errors.append("%s: %d" % (rel, r.status)); return
threads = [threading.Thread(target=worker, args=(files[i::8],)) for i in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
sys.exit("; ".join(errors[:3]) if errors else 0)
PY'
# A key outside the mapped prefix, and one that shares a name with a prefix's start.
make_file "$T/other" 10
s3_put $B "tree-not/x" "$T/other" >/dev/null
s3_put $B "treex" "$T/other" >/dev/null

mkdir -p "$T/www/h"; echo hello > "$T/www/h/f"
# Fake "buckets" on nginx whose every listing is the same bad answer (index.html).
LH='<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Prefix></Prefix>'
mkdir -p "$T/www/garbled" "$T/www/cut" "$T/www/loop" "$T/www/huge"
# one page of 100,001 keys: one more than a directory may hold
"$PY" -c '
import sys
out = [sys.argv[1], "<IsTruncated>false</IsTruncated>"]
out += ["<Contents><Key>k%06d</Key><Size>1</Size></Contents>" % i for i in range(100001)]
out.append("</ListBucketResult>")
open(sys.argv[2], "w").write("".join(out))' "$LH" "$T/www/huge/index.html"
printf '%s<IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResul>' "$LH" > "$T/www/garbled/index.html"
printf '%s<IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>1</Size></Con' "$LH" > "$T/www/cut/index.html"
printf '%s<IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken><Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>' "$LH" > "$T/www/loop/index.html"
start_nginx "$T/www" 'location /busy/ { return 503; }' 
CONF=$T/remoteio.conf
cat > "$CONF" <<EOF
map /b/ s3://$B/tree/ endpoint=$S3_ENDPOINT
map /whole/ s3://$B/ endpoint=$S3_ENDPOINT
map /h/ $ORIGIN/h/
map /garbled/ s3://garbled/ endpoint=$ORIGIN sign=0 retries=0
map /cut/ s3://cut/ endpoint=$ORIGIN sign=0 retries=0
map /loop/ s3://loop/ endpoint=$ORIGIN sign=0 retries=0
map /huge/ s3://huge/ endpoint=$ORIGIN sign=0 retries=0
map /busy/ s3://busy/ endpoint=$ORIGIN sign=0 retries=2
map /nob/ s3://riolist-no-such-bucket/ endpoint=$S3_ENDPOINT
EOF
export REMOTEIO_CONFIG=$CONF AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
V=/b

# `ls -l` fields that must match: type, size (files only: a directory's size is the
# file system's business), name.
ls_fields() { awk 'NF >= 9 && $1 != "total" { t = substr($1, 1, 1); print t, (t == "d" ? "-" : $5), $9, $10, $11, $12 }'; }

tsan_only_calls() {
    # Under TSan, ls, find and python3 crash with the shim of any version (see t-s3.sh);
    # dirwalk, built with the sanitizer, runs.
    [[ "${REMOTEIO_TEST_BUILD:-build}" == *tsan* ]]
}

scenario_ls() {
    shim ls -l "$V/" 2>"$T/err" | ls_fields > "$T/got"
    (cd "$L" && ls -l) | ls_fields > "$T/want"
    same_bytes "ls -l of the mapping's root: names, sizes, types" "$T/want" "$T/got"
    shim ls -l "$V/big" 2>>"$T/err" | ls_fields > "$T/got"
    (cd "$L/big" && ls -l) | ls_fields > "$T/want"
    check "ls -l of a prefix with 1,500 keys: 1,500 lines" test "$(wc -l < "$T/got")" = 1500
    same_bytes "ls -l of a prefix with 1,500 keys: names, sizes, types" "$T/want" "$T/got"
    shim ls -l "$V/odd/" 2>>"$T/err" | ls_fields > "$T/got"
    (cd "$L/odd" && ls -l) | ls_fields > "$T/want"
    same_bytes "ls -l with '&', '<', blanks and UTF-8 in names" "$T/want" "$T/got"
    shim ls -lR "$V" 2>>"$T/err" | sed "s|^$V|.|" | ls_fields_R > "$T/got"
    (cd "$L" && ls -lR .) | ls_fields_R > "$T/want"
    same_bytes "ls -lR: every directory's names, sizes, types" "$T/want" "$T/got"
    shim ls -a "$V/a" > "$T/got" 2>>"$T/err"
    printf '.\n..\nb\nx.bin\n' > "$T/want"
    same_bytes "ls -a: . and .. first" "$T/want" "$T/got"
    [ -s "$T/err" ] && fail "no line printed by the listings" "$(head -3 "$T/err")" ||
        ok "no line printed by the listings"
}
# ls -lR: headers ("./a:") kept, entries as ls_fields prints them.
ls_fields_R() {
    awk '/:$/ { print; next } NF >= 9 && $1 != "total" { t = substr($1, 1, 1); print t, (t == "d" ? "-" : $5), $9, $10, $11, $12 }'
}
tsan_only_calls || scenario "ls" scenario_ls

scenario_find() {
    shim find "$V" 2>"$T/err" | sed "s|^$V|.|" | sort > "$T/got"
    (cd "$L" && find .) | sort > "$T/want"
    same_bytes "find: every path" "$T/want" "$T/got"
    check "find: $((nkeys)) files" test "$(shim find "$V" -type f | wc -l)" = "$nkeys"
    shim find "$V" -type d 2>>"$T/err" | sed "s|^$V|.|" | sort > "$T/got"
    (cd "$L" && find . -type d) | sort > "$T/want"
    same_bytes "find -type d: the prefixes" "$T/want" "$T/got"
    shim find "$V" -type f -size +4k 2>>"$T/err" | sed "s|^$V|.|" | sort > "$T/got"
    (cd "$L" && find . -type f -size +4k) | sort > "$T/want"
    same_bytes "find -type f -size +4k (sizes from stat)" "$T/want" "$T/got"
    got=$(shim cat "$V/a" 2>&1)
    check "cat of a prefix: Is a directory, as for a real one ($got)" \
        test "$got" = "cat: $V/a: Is a directory"
    f=$(shim find "$V" -name 'x.bin' 2>>"$T/err")
    shim cat "$f" > "$T/out" 2>>"$T/err"
    same_bytes "a file found by find reads back its bytes ($f)" "$L/a/x.bin" "$T/out"
    shim cat "$V/odd/sp ace & amp.txt" > "$T/out" 2>>"$T/err"
    same_bytes "a file named with '&' and blanks reads back" "$L/odd/sp ace & amp.txt" "$T/out"
    [ -s "$T/err" ] && fail "no line printed by find" "$(head -3 "$T/err")" ||
        ok "no line printed by find"
}
tsan_only_calls || scenario "find" scenario_find

scenario_du() {
    shim du -ab "$V" 2>"$T/err" | sed "s|$V|.|" > "$T/du"
    # files: du -ab prints their sizes; directories' own sizes differ (0 here)
    (cd "$L" && find . -type f -printf '%s\t%p\n') | sort -k2 > "$T/want"
    (cd "$L" && find . -type f) | sort > "$T/files"
    awk -F'\t' 'NR == FNR { f[$1] = 1; next } ($2 in f)' "$T/files" "$T/du" | sort -k2 > "$T/got"
    same_bytes "du -ab: every file's size" "$T/want" "$T/got"
    want=$(cd "$L" && find . -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
    got=$(shim du -sb "$V" 2>>"$T/err" | cut -f1)
    check "du -sb: the total is the sum of the files' sizes ($want)" test "$got" = "$want"
    got=$(shim du -sb "$V/big" 2>>"$T/err" | cut -f1)
    want=$(cd "$L/big" && find . -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
    check "du -sb of the 1,500-key prefix ($want)" test "$got" = "$want"
    [ -s "$T/err" ] && fail "no line printed by du" "$(head -3 "$T/err")" ||
        ok "no line printed by du"
    # ls -l, ls -lR, find -size and du have stat'ed every key of big/ by now
    probes=$(s3_request_log | grep -c "^GET /$B/tree/big/f")
    echo "# GETs of the 1,500 listed keys after ls -l, ls -lR, find -size, du: $probes"
    check "stat of listed keys answered from the listing ($probes probes)" test "$probes" -lt 150
}
tsan_only_calls || scenario "du" scenario_du

scenario_tools() {
    mkdir -p "$T/x"
    shim tar -C "$V" -cf - . 2>"$T/err" | tar -C "$T/x" -xf - 2>>"$T/err"
    check "tar of the mapping extracts to the local tree (diff -r)" diff -r "$L" "$T/x"
    [ -s "$T/err" ] && fail "tar printed nothing" "$(head -3 "$T/err")" || ok "tar printed nothing"
    got=$(shim grep -rl deep "$V/a" 2>&1)
    check "grep -r finds the file in a nested prefix ($got)" test "$got" = "$V/a/b/c/deep.txt"
    rm -rf "$T/x"
}
tsan_only_calls || scenario "tools" scenario_tools

scenario_stat() {
    for p in "$V/a" "$V/a/" "$V/a/b/c" "$V" "$V/" /whole /whole/tree; do
        got=$(shim stat -c %F/%a "$p" 2>&1)
        check "stat -c %F/%a $p: directory/555" test "$got" = "directory/555"
    done
    got=$(shim stat -c %F/%a/%s "$V/a/x.bin" 2>&1)
    check "stat of a key: regular file/444/its size" test "$got" = "regular file/444/$((200 * 1024 + 17))"
    got=$(shim stat -c %i "$V/a" "$V/a/b" | sort -u | wc -l)
    check "two prefixes have two inode numbers" test "$got" = 2
    got=$(shim "$PY" -c '
import os, sys
r = []
for p in ("/b/nope", "/b/a/no/", "/b/a/x.bin/"):
    try:
        os.stat(p); r.append("ok")
    except OSError as e:
        r.append(os.strerror(e.errno))
try:
    os.listdir("/b/top.txt"); r.append("ok")
except OSError as e:
    r.append(os.strerror(e.errno))
print(",".join(r))' 2>/dev/null)
    check "no key, no prefix: ENOENT; a key as a directory: ENOTDIR ($got)" test "$got" = \
        "No such file or directory,No such file or directory,Not a directory,Not a directory"
}
tsan_only_calls || scenario "stat" scenario_stat

scenario_python() {
    got=$(shim "$PY" -c '
import os
n = len(os.listdir("/b/big"))
kinds = sorted((e.name, e.is_dir(), e.stat().st_size if e.is_file() else -1)
               for e in os.scandir("/b/a"))
walk = sum(len(fs) for _, _, fs in os.walk("/b"))
print(n, kinds, walk)' 2>&1)
    want="1500 [('b', True, -1), ('x.bin', False, $((200 * 1024 + 17)))] $nkeys"
    check "python3 os.listdir, os.scandir, os.walk ($got)" test "$got" = "$want"
    got=$(shim "$PY" -c '
import os
fd = os.open("/b/a", os.O_RDONLY | os.O_DIRECTORY)
d = os.dup(fd)
os.close(fd)
print(sorted(os.listdir(d)), os.path.isdir("/b/a/b"))
os.close(d)' 2>&1)
    check "a duplicate of a directory descriptor lists it ($got)" test "$got" = "['b', 'x.bin'] True"
}
tsan_only_calls || scenario "python" scenario_python

scenario_threads() {
    got=$(shim "$PY" -c '
import os, threading
res, lock = [], threading.Lock()
def work(i):
    n = len(os.listdir("/b/big"))
    sizes = sum(e.stat().st_size for e in os.scandir("/b/a") if e.is_file())
    walk = sum(len(fs) for _, _, fs in os.walk("/b/odd"))
    with lock:
        res.append((n, sizes, walk))
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
pid = os.fork()
if pid == 0:
    os._exit(0 if len(os.listdir("/b/big")) == 1500 else 1)
_, st = os.waitpid(pid, 0)
print(len(res), sorted(set(res)), os.WEXITSTATUS(st))' 2>&1)
    want="8 [(1500, $((200 * 1024 + 17)), $(find "$L/odd" -type f | wc -l))] 0"
    check "8 threads list at once, then a forked child lists ($got)" test "$got" = "$want"
}
tsan_only_calls || scenario "threads" scenario_threads

scenario_calls() {
    walk=$TOP/${REMOTEIO_TEST_BUILD:-build}/tests/dirwalk
    [ -x "$walk" ] || { fail "dirwalk is built (make tests)"; return; }
    for d in big a odd; do
        shim "$walk" getdents "$V/$d" 2>"$T/err" | sort > "$T/got"
        "$walk" getdents "$L/$d" | sort > "$T/want"
        same_bytes "getdents64 (512-byte buffers) and fstatat relative to the fd: $d" "$T/want" "$T/got"
        got=$(shim "$walk" streams "$V/$d" 2>&1)
        want=$("$walk" streams "$L/$d" 2>&1)
        check "readdir_r, telldir/seekdir, rewinddir, readdir64 on fdopendir of a dup: $d ($got)" \
            test "$got" = "$want"
    done
    for d in "$V/a" "$V/big" "$V"; do
        shim "$walk" scandir "$d" > "$T/got" 2>&1
        "$walk" scandir "${d/#$V/$L}" > "$T/want"
        same_bytes "scandir (glibc's calls its own opendir): $d" "$T/want" "$T/got"
    done
    got=$(shim "$walk" threads "$V/big" 2>&1)
    check "8 threads listing (and stat'ing) at once, two duplicates sharing a position ($got)" \
        test "$got" = "ok 1502"
    got=$(shim "$walk" streams "$L/big" 2>&1)
    check "libc's own streams pass through the hooks untouched ($got)" test "$got" = "ok 1502"
    got=$(shim "$walk" getdents "$V" 2>&1 | sort | tr '\n' ' ')
    check "getdents64 of the mapping's root ($got)" test "$got" = "a d big d odd d top.txt f "
}
scenario "calls" scenario_calls

scenario_http() {
    got=$(shim "$PY" -c '
import os
r = []
for p in ("/h", "/h/", "/h/sub"):
    try:
        os.listdir(p); r.append("ok")
    except OSError as e:
        r.append(os.strerror(e.errno))
try:
    os.open("/h/sub", os.O_RDONLY | os.O_DIRECTORY); r.append("ok")
except OSError as e:
    r.append(os.strerror(e.errno))
print(",".join(r))' 2>&1)
    check "an HTTP prefix mapping has no listing: opendir ENOENT, O_DIRECTORY ENOTDIR ($got)" \
        test "$got" = "No such file or directory,No such file or directory,No such file or directory,Not a directory"
    shim ls /h/ > /dev/null 2>"$T/err"
    check "ls of an HTTP prefix mapping fails" grep -q "cannot open directory" "$T/err"
    check "a file of the HTTP prefix mapping still reads" test "$(shim cat /h/f)" = hello
}
tsan_only_calls || scenario "http" scenario_http

scenario_bad_answers() {
    for b in garbled cut loop; do
        got=$(shim "$PY" -c '
import os, sys
try:
    os.listdir(sys.argv[1]); print("listed")
except OSError as e:
    print(os.strerror(e.errno))' "/$b/" 2>"$T/err")
        check "a $b listing is refused with EIO ($got)" test "$got" = "Input/output error"
        n=$(grep -c "^remoteio: " "$T/err")
        check "one line says why ($(head -1 "$T/err" | cut -c1-120))" test "$n" = 1
    done
}
tsan_only_calls || scenario "bad answers" scenario_bad_answers

scenario_cap() {
    got=$(shim "$PY" -c '
import os, resource
try:
    os.listdir("/huge/"); print("listed")
except OSError as e:
    print(os.strerror(e.errno))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)' 2>"$T/err")
    check "100,001 entries in one directory: EOVERFLOW, never a partial listing (${got%%$'\n'*})" \
        test "${got%%$'\n'*}" = "Value too large for defined data type"
    check "one line names the cap" grep -q "more than 100000 entries" "$T/err"
    check "and only one ($(grep -c "^remoteio: " "$T/err"))" test "$(grep -c "^remoteio: " "$T/err")" = 1
    echo "# peak RSS of python3 refusing it: ${got##*$'\n'} MiB"
}
tsan_only_calls || scenario "cap" scenario_cap

listdir_errno() {
    shim "$PY" -c '
import os, sys
try:
    os.listdir(sys.argv[1]); print("listed")
except OSError as e:
    print(os.strerror(e.errno))' "$1"
}

scenario_errors() {
    got=$(AWS_SECRET_ACCESS_KEY=wrong listdir_errno "$V/a" 2>"$T/err")
    check "a wrong secret: EACCES ($got)" test "$got" = "Permission denied"
    check "one line names SignatureDoesNotMatch and the credentials' source" \
        grep -q "SignatureDoesNotMatch (credentials from environment); access denied" "$T/err"
    check "and no secret" test "$(grep -c -e wrong -e "$S3_SECRET_KEY" "$T/err")" = 0
    got=$(listdir_errno /nob/ 2>"$T/err")
    check "no such bucket: ENOENT ($got)" test "$got" = "No such file or directory"
    check "one line names NoSuchBucket" grep -q "HTTP 404 NoSuchBucket" "$T/err"
    got=$(listdir_errno /busy/ 2>"$T/err")
    check "503 on every listing: EIO after the retries ($got)" test "$got" = "Input/output error"
    check "one line says so (3 attempts)" grep -q "HTTP 503; giving up after 3 attempts" "$T/err"
    n=$(grep -c 'GET /busy/?' "$NGINX_LOG")
    check "the listing was asked 3 times ($n)" test "$n" = 3
}
tsan_only_calls || scenario "errors" scenario_errors

scenario_secrets() {
    REMOTEIO_LOG=debug shim ls -lR "$V/a" > /dev/null 2>"$T/debug"
    check "REMOTEIO_LOG=debug says the listings went out" grep -q ": list http://" "$T/debug"
    leaks=$(grep -c -e "$S3_SECRET_KEY" -e "Signature=" -e "Credential=" "$T/debug")
    check "no secret or signature in the debug lines of a listing ($leaks)" test "$leaks" = 0
}
tsan_only_calls || scenario "secrets" scenario_secrets

scenario_log() {
    s3_request_log > "$T/log"
    lists=$(grep -c '^GET /'$B'/?.*list-type=2.* 200 rio$' "$T/log")
    check "listings were signed and answered 200 ($lists ListObjectsV2 requests)" test "$lists" -gt 0
    unsigned=$(grep 'list-type=2' "$T/log" | awk '$4 == "anonymous"' | wc -l)
    check "no listing request unsigned" test "$unsigned" = 0
    # refused: only the wrong secret's (403, no user) and the missing bucket's (404)
    refused=$(grep 'list-type=2' "$T/log" | awk '$3 != 200 && !($3 == 403 && $4 == "-") &&
        !($3 == 404 && $2 ~ /^\/riolist-no-such-bucket\//)' | wc -l)
    check "no other listing request refused" test "$refused" = 0
    pages=$(grep 'list-type=2' "$T/log" | grep 'prefix=tree%2Fbig%2F' | grep -c 'continuation-token=')
    check "the 1,500-key prefix took more than one page ($pages requests with a continuation token)" \
        test "$pages" -gt 0
    other=$(awk '$2 != "/" && !($3 == 403 && $4 == "-") &&
        (($1 != "GET" && $1 != "HEAD" && $1 != "PUT") || ($1 != "PUT" && $4 != "rio"))' "$T/log" | wc -l)
    check "only signed GET/HEAD of ours" test "$other" = 0
}
tsan_only_calls || scenario "log" scenario_log

finish

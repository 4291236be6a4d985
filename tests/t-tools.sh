#!/usr/bin/env bash
# tests/t-tools.sh: ordinary programs read remote files through the shim.
#
# Each tool's output under the shim on /remote/NAME must be byte-identical
# to its output on the local file that nginx serves: coreutils (cat, dd,
# head, tail, sha256sum, cp, wc, stat), tar, gzip, a shell redirect,
# python3 (file objects, os.pread, mmap), qemu-img on a qcow2 image and
# sqlite3 on an immutable database.  REMOTEIO_TEST_ORIGIN=s3 reads them as s3:// objects
# from the tests' S3 server instead (tests/s3/server.sh; t-s3-tools.sh).
. "$(dirname "$0")/lib.sh"
require python3 timeout cmp dd tar gzip sha256sum

W=$T/www
mkdir -p "$W" "$T/src/sub"
make_file "$W/big" $((3 * 1048576 + 17))
make_file "$W/small" 4099
make_file "$T/src/a.bin" 70000
make_file "$T/src/sub/b.bin" 1234567
printf 'hello\n' > "$T/src/hello.txt"
tar -C "$T/src" -cf "$W/a.tar" a.bin sub hello.txt
gzip -c -6 "$W/big" > "$W/big.gz"
S3=; [ "${REMOTEIO_TEST_ORIGIN:-}" = s3 ] && S3=1
if [ -n "$S3" ]; then
    # REMOTEIO_TEST_ORIGIN=s3 (t-s3-tools.sh): the same files as s3:// objects in the
    # tests' S3 server, which checks every signature
    . "$TOP/tests/s3/server.sh"
    s3_serve "$W"
    export REMOTEIO_MAP="/remote/=$S3_MAP"
else
    # A range request without If-Match or If-Unmodified-Since gets a 418, which
    # fails the read and is counted at the end.
    start_nginx "$W" '
        set $cond "";
        if ($http_range) { set $cond "R"; }
        if ($http_if_match) { set $cond "${cond}M"; }
        if ($http_if_unmodified_since) { set $cond "${cond}U"; }
        if ($cond = "R") { return 418; }'
    export REMOTEIO_MAP="/remote/=$ORIGIN/"
fi
export REMOTEIO_TIMEOUT=5 REMOTEIO_DEADLINE=30

# s CMD...: run CMD under the shim, bounded.
s() { timeout -k 5 60 env LD_PRELOAD="$SHIM" "$@"; }
# same_out NAME "SHIM CMD" "LOCAL CMD": both outputs (stdout) must match.
same_out() {
    local name=$1 a=$T/a.$RANDOM b=$T/b.$RANDOM rca rcb
    timeout -k 5 60 env LD_PRELOAD="$SHIM" bash -c "$2" >"$a" 2>"$a.err"; rca=$?
    bash -c "$3" >"$b" 2>"$b.err"; rcb=$?
    if [ $rca -ne $rcb ]; then
        fail "$name" "exit $rca under the shim, $rcb locally; stderr: $(grep -v '^remoteio: stats' "$a.err" | head -3 | tr '\n' ' ')"
    elif ! cmp -s "$a" "$b"; then
        fail "$name" "$(cmp "$a" "$b" 2>&1 | head -1) (sizes $(stat -c %s "$a") vs $(stat -c %s "$b"))"
    elif [ ! -s "$b" ]; then
        fail "$name" "no output to compare"
    else
        ok "$name"
    fi
}

same_out "cat" "cat /remote/big" "cat $W/big"
same_out "cat of two files" "cat /remote/small /remote/big /remote/small" "cat $W/small $W/big $W/small"
same_out "dd bs=4096" "dd if=/remote/big bs=4096 status=none" "dd if=$W/big bs=4096 status=none"
same_out "dd bs=1M skip=1" "dd if=/remote/big bs=1M skip=1 status=none" "dd if=$W/big bs=1M skip=1 status=none"
# (Block sizes stay multiples of 4096: dd's aligned buffers of other sizes
# upset a preloaded ASan runtime.  skip_bytes/count_bytes make the offsets odd.)
same_out "dd skip=7 count=3" "dd if=/remote/big bs=65536 skip=7 count=3 status=none" \
    "dd if=$W/big bs=65536 skip=7 count=3 status=none"
same_out "dd skip_bytes count_bytes" \
    "dd if=/remote/big bs=131072 iflag=skip_bytes,count_bytes skip=1234567 count=777777 status=none" \
    "dd if=$W/big bs=131072 iflag=skip_bytes,count_bytes skip=1234567 count=777777 status=none"
same_out "dd count_bytes reading 65537 at 458759" \
    "dd if=/remote/big bs=69632 iflag=skip_bytes,count_bytes skip=458759 count=65537 status=none" \
    "dd if=$W/big bs=69632 iflag=skip_bytes,count_bytes skip=458759 count=65537 status=none"
same_out "head -c 1000" "head -c 1000 /remote/big" "head -c 1000 $W/big"
same_out "head -c 100000 (stdin)" "head -c 100000 < /remote/big" "head -c 100000 < $W/big"
same_out "tail -c 5000" "tail -c 5000 /remote/big" "tail -c 5000 $W/big"
same_out "tail -c +3000000" "tail -c +3000000 /remote/big" "tail -c +3000000 $W/big"
same_out "tail -c 777 (stdin)" "tail -c 777 < /remote/big" "tail -c 777 < $W/big"
same_out "sha256sum" "sha256sum /remote/big | cut -d' ' -f1" "sha256sum $W/big | cut -d' ' -f1"
same_out "sha256sum of three" "sha256sum /remote/small /remote/big /remote/a.tar | cut -d' ' -f1" \
    "sha256sum $W/small $W/big $W/a.tar | cut -d' ' -f1"
same_out "md5sum" "md5sum /remote/small | cut -d' ' -f1" "md5sum $W/small | cut -d' ' -f1"
same_out "wc -c" "wc -c /remote/big | cut -d' ' -f1" "wc -c $W/big | cut -d' ' -f1"
same_out "wc -c (stdin)" "wc -c < /remote/big" "wc -c < $W/big"
same_out "wc -l" "wc -l < /remote/big" "wc -l < $W/big"
same_out "stat -c %s" "stat -c %s /remote/big" "stat -c %s $W/big"
same_out "stat -L -c %s" "stat -L -c %s /remote/small" "stat -L -c %s $W/small"
same_out "od of a range" "od -A d -t x1 -j 65530 -N 20 /remote/big" "od -A d -t x1 -j 65530 -N 20 $W/big"
same_out "cmp remote with local" "cmp /remote/big $W/big && echo same" "echo same"

# cp with its default (copy_file_range, sparse detection) and plain read/write.
rm -f "$T/cp1" "$T/cp2" "$T/cp3"
s cp /remote/big "$T/cp1"; same_bytes "cp" "$T/cp1" "$W/big"
s cp --reflink=never --sparse=never /remote/big "$T/cp2"; same_bytes "cp --sparse=never" "$T/cp2" "$W/big"
s cp --sparse=always /remote/small "$T/cp3"; same_bytes "cp --sparse=always" "$T/cp3" "$W/small"
mkdir -p "$T/cpdir"
s cp /remote/small /remote/big "$T/cpdir/"
same_bytes "cp two files into a directory (small)" "$T/cpdir/small" "$W/small"
same_bytes "cp two files into a directory (big)" "$T/cpdir/big" "$W/big"
s install -m 644 /remote/small "$T/installed"; same_bytes "install" "$T/installed" "$W/small"

# tar
same_out "tar tf" "tar tf /remote/a.tar" "tar tf $W/a.tar"
same_out "tar tvf" "tar tvf /remote/a.tar" "tar tvf $W/a.tar"
same_out "tar xOf (one member)" "tar xOf /remote/a.tar sub/b.bin" "cat $T/src/sub/b.bin"
same_out "tar xOf (all)" "tar xOf /remote/a.tar" "tar xOf $W/a.tar"
same_out "tar tf - < file" "tar tf - < /remote/a.tar" "tar tf - < $W/a.tar"
mkdir -p "$T/untar"
s tar -C "$T/untar" -xf /remote/a.tar
check "tar xf extracts the same tree" diff -r "$T/untar" "$T/src"

# gzip
same_out "gzip -dc" "gzip -dc /remote/big.gz" "cat $W/big"
same_out "zcat < file" "zcat < /remote/big.gz" "cat $W/big"
same_out "gzip -t" "gzip -t /remote/big.gz && echo good" "echo good"
same_out "gzip -l" "gzip -l /remote/big.gz | awk 'NR == 2 { print \$1, \$2, \$3 }'" \
    "gzip -l $W/big.gz | awk 'NR == 2 { print \$1, \$2, \$3 }'"

# Shell redirections: the shell opens the file, the child reads.
same_out "bash -c 'cat < /remote/big'" "cat < /remote/big" "cat < $W/big"
same_out "bash read builtin" 'IFS= read -r -n 20 x < /remote/small; printf %s "$x" | od -c' \
    "IFS= read -r -n 20 x < $W/small; printf %s \"\$x\" | od -c"
same_out "bash \$(< file)" 'x=$(< /remote/a.tar); echo ${#x}' "x=\$(< $W/a.tar); echo \${#x}"

# python3: file objects, os.pread, mmap.
cat > "$T/py.py" <<'PY'
import hashlib, mmap, os, sys
v, l = sys.argv[1], sys.argv[2]
want = open(l, "rb").read()
bad = []
def check(name, cond):
    print(("ok   - " if cond else "FAIL - ") + name)
    if not cond: bad.append(name)
with open(v, "rb") as f:
    check("py: read()", f.read() == want)
    f.seek(12345); check("py: seek+read", f.read(70000) == want[12345:12345 + 70000])
    f.seek(-100, os.SEEK_END); check("py: seek from end", f.read() == want[-100:])
    check("py: tell", f.tell() == len(want))
    check("py: fstat size", os.fstat(f.fileno()).st_size == len(want))
    f.seek(0); n = 0; h = hashlib.sha256()
    while True:
        b = f.read1(65536)
        if not b: break
        h.update(b); n += len(b)
    check("py: read1 loop", h.digest() == hashlib.sha256(want).digest() and n == len(want))
with open(v, "r", encoding="latin-1", newline="") as f:
    check("py: text mode", f.read() == want.decode("latin-1"))
fd = os.open(v, os.O_RDONLY)
check("py: os.pread", os.pread(fd, 4096, 1000000) == want[1000000:1004096])
check("py: os.pread at EOF", os.pread(fd, 10, len(want)) == b"")
check("py: os.read", os.read(fd, 100) == want[:100])
check("py: os.lseek SEEK_END", os.lseek(fd, 0, os.SEEK_END) == len(want))
check("py: os.preadv", (lambda b: os.preadv(fd, [b], 5) == 1000 and bytes(b) == want[5:1005])(bytearray(1000)))
m = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
check("py: mmap whole", m[:] == want)
check("py: mmap slice", m[2000000:2000100] == want[2000000:2000100])
check("py: mmap find", m.find(want[3000000:3000016]) == want.find(want[3000000:3000016]))
m.close()
m = mmap.mmap(fd, 65536, offset=mmap.ALLOCATIONGRANULARITY * 16, access=mmap.ACCESS_READ)
o = mmap.ALLOCATIONGRANULARITY * 16
check("py: mmap at an offset", m[:] == want[o:o + 65536])
m.close()
os.close(fd)
check("py: os.stat", os.stat(v).st_size == len(want))
check("py: os.path.isfile", os.path.isfile(v) and os.path.exists(v))
check("py: os.access R_OK", os.access(v, os.R_OK))
sys.exit(1 if bad else 0)
PY
out=$(s "$PY" "$T/py.py" /remote/big "$W/big" 2>"$T/py.err"); rc=$?
echo "$out" | sed 's/^/    /'
if [ $rc -eq 0 ] && ! grep -q '^FAIL' <<<"$out" && grep -q 'py: os.access' <<<"$out"; then
    ok "python3 file, os.pread, mmap"
else
    fail "python3 file, os.pread, mmap" "exit $rc: $(grep FAIL <<<"$out" | tr '\n' ' ') $(grep -v '^remoteio: stats' "$T/py.err" | tail -3 | tr '\n' ' ')"
fi

# qemu-img on a qcow2 image (a raw disk with data and holes, converted locally).
if command -v qemu-img >/dev/null; then
    truncate -s 8M "$T/disk.raw"
    dd if="$W/big" of="$T/disk.raw" bs=65536 seek=3 conv=notrunc status=none
    dd if="$W/small" of="$T/disk.raw" bs=4096 seek=1900 conv=notrunc status=none
    qemu-img convert -f raw -O qcow2 "$T/disk.raw" "$W/disk.qcow2"
    [ -z "$S3" ] || s3_publish "$W/disk.qcow2"
    same_out "qemu-img info" "qemu-img info --output=json /remote/disk.qcow2 | grep -E '\"(format|virtual-size|cluster-size)\"'" \
        "qemu-img info --output=json $W/disk.qcow2 | grep -E '\"(format|virtual-size|cluster-size)\"'"
    same_out "qemu-img check" "qemu-img check -q /remote/disk.qcow2 && echo clean" "echo clean"
    rm -f "$T/out.raw"
    s qemu-img convert -f qcow2 -O raw /remote/disk.qcow2 "$T/out.raw" 2>"$T/qemu.err"
    same_bytes "qemu-img convert -O raw" "$T/out.raw" "$T/disk.raw"
    same_out "qemu-img compare" "qemu-img compare -f qcow2 -F raw /remote/disk.qcow2 $T/disk.raw" \
        "qemu-img compare -f qcow2 -F raw $W/disk.qcow2 $T/disk.raw"
else
    echo "# qemu-img is not installed: qemu-img checks skipped"
fi

# sqlite3 on an immutable database.
if command -v sqlite3 >/dev/null; then
    sqlite3 "$W/db.sqlite" <<'SQL'
create table t(id integer primary key, name text, blob blob);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000)
insert into t select i, 'row ' || i, randomblob(200) from n;
create index t_name on t(name);
SQL
    [ -z "$S3" ] || s3_publish "$W/db.sqlite"
    Q="select count(*), sum(id), hex(sha3(group_concat(hex(blob)))) from t; select id from t where name = 'row 4321';"
    sqlite3 -batch "$W/db.sqlite" "select sha3('x')" >/dev/null 2>&1 || \
        Q="select count(*), sum(id), sum(length(blob)), max(hex(blob)) from t; select id from t where name = 'row 4321';"
    same_out "sqlite3 immutable=1" "sqlite3 -batch 'file:/remote/db.sqlite?immutable=1' \"$Q\"" \
        "sqlite3 -batch 'file:$W/db.sqlite?immutable=1' \"$Q\""
    same_out "sqlite3 mode=ro" "sqlite3 -batch 'file:/remote/db.sqlite?mode=ro' \"$Q\"" \
        "sqlite3 -batch 'file:$W/db.sqlite?mode=ro' \"$Q\""
    same_out "sqlite3 -readonly" "sqlite3 -batch -readonly /remote/db.sqlite 'pragma integrity_check'" \
        "sqlite3 -batch -readonly $W/db.sqlite 'pragma integrity_check'"
else
    echo "# sqlite3 is not installed: sqlite3 checks skipped"
fi

if [ -n "$S3" ]; then s3_check_signed_reads; finish; exit; fi
n=$(awk '$1 == 418' "$NGINX_LOG" | wc -l)
[ "$n" = 0 ] && ok "every range request carried If-Match or If-Unmodified-Since" ||
    fail "every range request carried If-Match or If-Unmodified-Since" "$n did not, e.g. $(awk '$1 == 418' "$NGINX_LOG" | head -1)"
n=$(grep -c '"bytes=' "$NGINX_LOG" || true)
[ "$n" -gt 0 ] && ok "the origin saw range requests ($n)" || fail "the origin saw range requests" "none in the log"

finish

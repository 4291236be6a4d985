#!/usr/bin/env bash
# examples/make-samples.sh: make the files the examples read from the origin.
#
#   examples/make-samples.sh DIR
#
# sample.raw (8 MiB of data), sample.qcow2 (the same as compressed qcow2),
# sample.sqlite (a table of 20000 rows), disk.img (an ext4 file system with a
# MANIFEST, for the VM example) and hello.txt.
set -eu
dir=$1
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
python3 - "$dir/sample.raw" <<'PY'
import random, sys
rnd = random.Random(42)
with open(sys.argv[1], "wb") as f:
    f.write(rnd.randbytes(4 << 20))
    f.write(b"".join(b"sample line %07d\n" % i for i in range(300000))[:4 << 20])
PY
rm -f "$dir/sample.qcow2" "$dir/sample.sqlite"
qemu-img convert -f raw -O qcow2 -c "$dir/sample.raw" "$dir/sample.qcow2"
sqlite3 "$dir/sample.sqlite" <<'SQL'
PRAGMA page_size = 4096;
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, value REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO t SELECT i, 'row ' || i, i * 0.5 FROM n;
CREATE INDEX t_name ON t(name);
SQL
"$top/tests/vm/make-disk.sh" "$dir/disk.img" 32 20 >/dev/null
echo "hello from the origin" > "$dir/hello.txt"
ls -l "$dir"

#!/usr/bin/env bash
# examples/fio.sh: random 4 KiB reads from a remote file with fio (thread-based I/O).
. "$(dirname "$0")/common.sh"
remoteio -m /remote/="$ORIGIN" -- fio --name=randread --filename=/remote/sample.raw \
    --readonly --rw=randread --bs=4k --ioengine=psync --numjobs=4 --iodepth=1 \
    --runtime=5 --time_based --group_reporting --output-format=terse --terse-version=3 > "$WORK/fio.out"
# Terse v3: field 6 is read KiB, 8 read IOPS; field 5 read errors are in "error" (field 5).
awk -F';' '{ printf "fio: %s KiB read, %s IOPS, error=%s\n", $6, $8, $5; exit ($5 != 0 || $6 == 0) }' "$WORK/fio.out"

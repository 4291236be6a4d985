#!/usr/bin/env bash
# examples/qemu-img.sh: inspect a remote qcow2 image and convert it to a local raw file.
. "$(dirname "$0")/common.sh"
remoteio -m /remote/="$ORIGIN" -- qemu-img info /remote/sample.qcow2
remoteio -m /remote/="$ORIGIN" -- qemu-img convert -O raw /remote/sample.qcow2 "$WORK/sample.raw"
if [ -n "$SAMPLES" ]; then cmp "$WORK/sample.raw" "$SAMPLES/sample.raw" && echo "converted: identical"; fi

#!/usr/bin/env bash
# tests/vm/fetch-kernel.sh: fetch Debian's stock kernel for the test guest.
#
# Downloads (never installs) the linux-image-*-amd64 package that the
# linux-image-amd64 metapackage depends on, and extracts it into a cache
# directory. Prints the directory that holds vmlinuz and lib/modules/.
#
#   tests/vm/fetch-kernel.sh [CACHE_DIR]
#
# CACHE_DIR defaults to ${REMOTEIO_TEST_CACHE:-/var/cache/remoteio-test}/kernel
# (~/.cache/remoteio-test/kernel when that cannot be written).
# A second run with the cache in place does no network access at all.
set -eu
cache=${1:-${REMOTEIO_TEST_CACHE:-/var/cache/remoteio-test}/kernel}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/remoteio-test/kernel   # not root
    mkdir -p "$cache"
fi
cache=$(cd "$cache" && pwd)

# Already extracted?
for d in "$cache"/linux-image-*; do
    if [ -f "$d/.complete" ]; then
        echo "$d"
        exit 0
    fi
done

log() { echo "fetch-kernel: $*" >&2; }

pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
      sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
if [ -z "$pkg" ]; then
    log "package lists look stale; running apt-get update"
    apt-get update -qq >&2 || true
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
          sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
fi
# Some releases name the unsigned flavour; fall back to any versioned image.
if [ -z "$pkg" ]; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
          sed -n 's/^ *Depends: *\(linux-image-[^ ]*\)$/\1/p' | head -1)
fi
[ -n "$pkg" ] || { log "cannot resolve the kernel package behind linux-image-amd64"; exit 1; }

dl=$cache/deb
mkdir -p "$dl"
deb=$(ls "$dl"/"$pkg"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
    log "downloading $pkg"
    # apt-get download writes into the current directory; run it as _apt
    # can't write there unless it is world-writable, so allow it.
    (cd "$dl" && chmod 0777 . && apt-get download -q "$pkg" >&2) ||
    { log "apt-get download $pkg failed"; exit 1; }
    deb=$(ls "$dl"/"$pkg"_*.deb | head -1)
fi

out=$cache/$pkg
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
log "extracting $(basename "$deb")"
dpkg-deb -x "$deb" "$out.tmp"
vmlinuz=$(ls "$out.tmp"/boot/vmlinuz-* | head -1)
[ -f "$vmlinuz" ] || { log "no vmlinuz in $deb"; exit 1; }
ln -sf "boot/$(basename "$vmlinuz")" "$out.tmp/vmlinuz"
touch "$out.tmp/.complete"
rm -rf "$out"
mv "$out.tmp" "$out"
rm -f "$deb"     # the extracted tree is all later runs need
echo "$out"

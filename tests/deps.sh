#!/usr/bin/env bash
# tests/deps.sh: installs what building and testing remoteio needs on Debian 12.
# Idempotent and quiet when everything is there already.  Needs root (or sudo).
set -eu
pkgs=(build-essential libcurl4-openssl-dev curl nginx-light libnginx-mod-http-echo
      python3 qemu-utils qemu-system-x86 qemu-block-extra fio aria2 nbdkit libnbd-bin
      busybox-static cpio e2fsprogs sqlite3 clang libclang-rt-14-dev strace xz-utils
      gzip tar
      ceph-mon ceph-osd radosgw) # the S3 test server (tests/s3/server.sh); nothing starts on install
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx-light's package starts a system nginx on port 80; the tests run their own.
$SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true

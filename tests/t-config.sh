#!/usr/bin/env bash
# tests/t-config.sh: how paths map to objects, and what bad configuration does.
#
# REMOTEIO_MAP with several entries (';' and newline separated), exact-file
# and prefix mappings, the longest prefix winning, file names that need
# percent-encoding (each next to a decoy that a wrong URL would fetch),
# lexical path normalisation (relative paths, '//', '/./', '..'), a
# REMOTEIO_CONFIG file (and the environment overriding it), and bad entries:
# one line on stderr, the program still runs, the good entries still work.
. "$(dirname "$0")/lib.sh"
require python3 timeout cmp
W=$T/www
mkdir -p "$W/d1" "$W/d2" "$W/d3" "$W/etc" "$W/d1/sub"
make_file "$W/d1/x" 100000
make_file "$W/d2/y" 70001
make_file "$W/d1/sub/z" 5000
printf 'DECOY: the remote etc/hostname\n' > "$W/etc/hostname"
start_nginx "$W"
unset REMOTEIO_MAP REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_LOG REMOTEIO_LOG_FILE

# s CMD...: under the shim, bounded; stderr to $T/err.
s() { timeout -k 5 30 env LD_PRELOAD="$SHIM" "$@" 2>"$T/err"; }
# reads NAME PATH LOCAL [CWD]: cat PATH under the shim gives LOCAL's bytes.
reads() {
    local name=$1 p=$2 want=$3 cwd=${4:-$T}
    ( cd "$cwd" && s cat "$p" ) >"$T/got"
    local rc=$?
    if [ $rc -ne 0 ]; then
        fail "$name" "cat '$p' exited $rc: $(head -2 "$T/err" | tr '\n' ' ')"
    else
        same_bytes "$name" "$T/got" "$want"
    fi
}
# absent NAME PATH: PATH is not readable under the shim (open fails).
absent() {
    local name=$1 p=$2
    if s cat "$p" >"$T/got"; then fail "$name" "cat '$p' succeeded ($(stat -c %s "$T/got") bytes)"
    else ok "$name"; fi
}
# remoteio_lines: the shim's own lines in $T/err
remoteio_lines() { grep -c '^remoteio:' "$T/err" || true; }

# --- several entries, separators, exact and prefix mappings ---
export REMOTEIO_MAP="/a/=$ORIGIN/d1/"$'\n'"/b/=$ORIGIN/d2/"
reads "newline-separated map: first entry" /a/x "$W/d1/x"
reads "newline-separated map: second entry" /b/y "$W/d2/y"
reads "prefix mapping: subdirectory" /a/sub/z "$W/d1/sub/z"
absent "prefix mapping: missing object" /a/y
[ "$(remoteio_lines)" = 0 ] && ok "good map: nothing on stderr" || fail "good map: nothing on stderr" "$(head -3 "$T/err")"

export REMOTEIO_MAP="/a/=$ORIGIN/d1/;/data/file.bin=$ORIGIN/d2/y;/q.bin=$ORIGIN/d2/y?v=1&w=2"
reads "';'-separated map: prefix entry" /a/x "$W/d1/x"
reads "exact-file mapping" /data/file.bin "$W/d2/y"
reads "exact-file mapping whose URL has a query with '='" /q.bin "$W/d2/y"
absent "exact mapping is not a prefix" /data/file.bin/x
absent "exact mapping does not cover a longer name" /data/file.bin2
absent "exact mapping does not cover its directory's other names" /data/other
absent "prefix /a/ does not cover /ab" /ab
absent "prefix /a/ does not cover /a" /a

export REMOTEIO_MAP="/r/=$ORIGIN/d1/;/r/sub/=$ORIGIN/d2/"
reads "longest prefix wins" /r/sub/y "$W/d2/y"
reads "shorter prefix still maps its other names" /r/x "$W/d1/x"

# --- names that need encoding; each has a decoy that a wrong URL would hit ---
d=$W/d3
names=('q?x' 'h#x' 'p%41x' 'sp ace' 'a+b' 'semi;colon' 'eq=1' 'caf'$'\xc3\xa9' "quote'd" 'amp&x' '%')
for n in "${names[@]}"; do make_file "$d/$n" $((1000 + ${#n})); done
printf 'decoy q\n' > "$d/q"; printf 'decoy h\n' > "$d/h"; printf 'decoy pAx\n' > "$d/pAx"
printf 'decoy a b\n' > "$d/a b"; printf 'decoy semi\n' > "$d/semi"
export REMOTEIO_MAP="/remote/=$ORIGIN/d3/"
for n in "${names[@]}"; do reads "file name '$n'" "/remote/$n" "$d/$n"; done
reads "decoy 'q' itself" /remote/q "$d/q"

# --- path normalisation ---
export REMOTEIO_MAP="/remote/=$ORIGIN/d1/"
reads "relative path from cwd /" remote/x "$W/d1/x" /
reads "relative path with .. from cwd /tmp" ../remote/x "$W/d1/x" /tmp
reads "relative path from a deep cwd" "$(python3 -c 'import os,sys; print(os.path.relpath("/remote/x", sys.argv[1]))' "$T")" "$W/d1/x" "$T"
reads "'//' in the path" //remote//x "$W/d1/x"
reads "'/./' in the path" /./remote/./x "$W/d1/x"
reads "'..' inside the mapping" /remote/sub/../x "$W/d1/x"
reads "'..' through a missing directory" /remote/nothere/../sub/z "$W/d1/sub/z"
reads "trailing '/.' elements" /remote/sub/./z "$W/d1/sub/z"
# A path that leaves the mapping is not virtual and goes to the kernel as it is:
# it reads the local file when the directories it names exist on disk, and
# fails as it would without the shim when they do not (here /remote may not).
host=/etc/hostname; [ -r $host ] || host=/etc/os-release
want=$(cat "/remote/..$host" 2>&1); got=$(s cat "/remote/..$host" 2>&1; cat "$T/err")
[ "$got" = "$want" ] && ok "/remote/..$host: as without the shim" ||
    fail "/remote/..$host: as without the shim" "got '$got', want '$want'"
mkdir -p "$T/mnt"; printf 'local, beside the mapping\n' > "$T/beside"
REMOTEIO_MAP="$T/mnt/=$ORIGIN/d1/" reads "a mapped directory that exists on disk: '..' leaves it" "$T/mnt/../beside" "$T/beside"
REMOTEIO_MAP="$T/mnt/=$ORIGIN/d1/" reads "a mapped directory that exists on disk: its files stay remote" "$T/mnt/x" "$W/d1/x"
reads "/remote/../remote/x stays remote" /remote/../remote/x "$W/d1/x"
if ! grep -q 'etc/hostname' "$NGINX_LOG"; then
    ok "no request for the escaped path reached the origin"
else
    fail "no request for the escaped path reached the origin" "$(grep etc/hostname "$NGINX_LOG" | head -1)"
fi
( cd /tmp && s "$PY" -c 'import os; print(os.path.getsize("../remote/x"))' ) >"$T/got"
[ "$(cat "$T/got")" = 100000 ] && ok "stat of a relative path" || fail "stat of a relative path" "got '$(cat "$T/got")': $(head -2 "$T/err")"

# --- REMOTEIO_CONFIG ---
unset REMOTEIO_MAP
cat > "$T/remoteio.conf" <<EOF
# remoteio configuration used by t-config.sh

connections = 16          # global options: same names as the env knobs
chunk_size = 65536
  timeout = 5
stats = $T/stats-file

map /cfg/ $ORIGIN/d1/   timeout=5 retries=2
map /cfgfile.bin $ORIGIN/d2/y readahead=1048576 deadline=30
	map	/tab/	$ORIGIN/d1/sub/	retries=1
EOF
export REMOTEIO_CONFIG=$T/remoteio.conf
rm -f "$T/stats-file" "$T/stats-env"
reads "config file: prefix mapping with options" /cfg/x "$W/d1/x"
[ "$(remoteio_lines)" = 0 ] && ok "good config file: nothing on stderr" || fail "good config file: nothing on stderr" "$(head -3 "$T/err")"
reads "config file: exact mapping with options" /cfgfile.bin "$W/d2/y"
reads "config file: tab-separated map line" /tab/z "$W/d1/sub/z"
if grep -q 'path=/cfgfile.bin ' "$T/stats-file" 2>/dev/null; then ok "config file: stats option honoured"
else fail "config file: stats option honoured" "no stats line in $T/stats-file"; fi
rm -f "$T/stats-file"
REMOTEIO_STATS=$T/stats-env reads "config file with env override" /cfg/x "$W/d1/x"
if grep -q 'path=/cfg/x ' "$T/stats-env" 2>/dev/null && [ ! -s "$T/stats-file" ]; then
    ok "environment overrides the config file (stats)"
else
    fail "environment overrides the config file (stats)" "env file: $(cat "$T/stats-env" 2>/dev/null | head -1); config file: $(cat "$T/stats-file" 2>/dev/null | head -1)"
fi
REMOTEIO_MAP="/m/=$ORIGIN/d2/" reads "REMOTEIO_MAP adds to the config file's maps" /m/y "$W/d2/y"

cat > "$T/bad.conf" <<EOF
frobnicate = 3
map /onlyvirt/
map /good/ $ORIGIN/d1/
this line is nonsense
EOF
export REMOTEIO_CONFIG=$T/bad.conf
reads "bad config file: good map line still works" /good/x "$W/d1/x"
n=$(grep -c "^remoteio:.*bad.conf" "$T/err" || true)
[ "$n" -ge 3 ] && ok "bad config file: each bad line reported with the file name ($n)" ||
    fail "bad config file: each bad line reported with the file name" "$n lines: $(head -4 "$T/err" | tr '\n' '|')"
export REMOTEIO_CONFIG=$T/does-not-exist.conf
export REMOTEIO_MAP="/good/=$ORIGIN/d1/"
reads "missing config file: program runs, REMOTEIO_MAP works" /good/x "$W/d1/x"
grep -q '^remoteio:.*does-not-exist.conf' "$T/err" && ok "missing config file reported" ||
    fail "missing config file reported" "stderr: $(head -2 "$T/err")"
unset REMOTEIO_CONFIG

# --- bad REMOTEIO_MAP entries ---
# bad_entry NAME ENTRY: alone with a good one: one line naming REMOTEIO_MAP,
# the program runs, the good entry works, the bad one maps nothing.
bad_entry() {
    local name=$1 entry=$2 virt=${2%%=*}
    export REMOTEIO_MAP="$entry;/good/=$ORIGIN/d1/"
    reads "$name: good entry still works" /good/x "$W/d1/x"
    local lines; lines=$(grep -c . "$T/err" || true)
    if [ "$lines" = 1 ] && grep -q '^remoteio:.*REMOTEIO_MAP' "$T/err"; then
        ok "$name: one line on stderr naming REMOTEIO_MAP"
    else
        fail "$name: one line on stderr naming REMOTEIO_MAP" "$lines lines: $(head -3 "$T/err" | tr '\n' '|')"
    fi
    local rc; REMOTEIO_MAP="$entry" s true; rc=$?
    [ $rc -eq 0 ] && ok "$name alone: program still runs" || fail "$name alone: program still runs" "exit $rc"
    [ "${virt:0:1}" = / ] && absent "$name: maps nothing" "${virt%/}/x"
}
bad_entry "entry without '='" "/bad1/"
bad_entry "ftp:// URL" "/bad2/=ftp://127.0.0.1/x/"
bad_entry "empty URL" "/bad3/="
export REMOTEIO_MAP="/bad1;/good/=$ORIGIN/d1/;/bad2/=ftp://127.0.0.1/;/bad3/=;/good2/=$ORIGIN/d2/"
reads "three bad entries: first good entry works" /good/x "$W/d1/x"
reads "three bad entries: last good entry works" /good2/y "$W/d2/y"
n=$(grep -c '^remoteio:.*REMOTEIO_MAP' "$T/err" || true)
[ "$n" = 3 ] && ok "three bad entries: three lines on stderr" || fail "three bad entries: three lines on stderr" "$n: $(head -4 "$T/err" | tr '\n' '|')"
export REMOTEIO_MAP=""
reads "empty REMOTEIO_MAP: ordinary files still work" "$W/d1/x" "$W/d1/x"

finish

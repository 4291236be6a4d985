#!/usr/bin/env bash
# tests/t-knobs.sh: one list per concept.  The knobs are declared once (CONFIG_KNOBS and
# MAP_OPTIONS in shim/config.h) and REMOTEIO_LOG=debug prints each with its effective
# value; the README's configuration table, remoteio(1) and config/knobs.conf must name
# exactly those knobs (and the README their defaults).  Every example configuration file
# (config/*.conf, examples/remoteio.conf) is parsed with no complaint, its knobs take
# effect, and the VM and database examples work against a real origin.  The README's
# stats line names the counters the shim prints (OBJECT_COUNTERS in shim/stats.h).
. "$(dirname "$0")/lib.sh"
require python3 timeout
require_shim
unset REMOTEIO_MAP REMOTEIO_CONFIG REMOTEIO_STATS REMOTEIO_STATS_INTERVAL REMOTEIO_LOG_FILE
for v in $(env | sed -n 's/^\(REMOTEIO_[A-Z_]*\)=.*/\1/p'); do
    [ "$v" = REMOTEIO_PRELOAD ] || [ "$v" = REMOTEIO_TEST_BUILD ] || unset "$v"
done

# config_line [ENV...]: the knobs the shim runs with ("name=value ..."), as it prints
# them; the shim's other lines go to $T/other.
config_line() {
    env LD_PRELOAD="$SHIM" REMOTEIO_LOG=debug "$@" /bin/true 2>"$T/lines"
    sed -n 's/^remoteio: debug: config \(.*\); [0-9]* mappings\{0,1\}$/\1/p' "$T/lines"
    grep -v '^remoteio: debug: config ' "$T/lines" >"$T/other"
}
# same_sets NAME WANT GOT: two newline-separated lists hold the same names
same_sets() {
    local missing extra
    missing=$(comm -23 <(sort -u <<<"$2") <(sort -u <<<"$3") | tr '\n' ' ')
    extra=$(comm -13 <(sort -u <<<"$2") <(sort -u <<<"$3") | tr '\n' ' ')
    if [ -z "$missing$extra" ]; then ok "$1"
    else fail "$1" "${missing:+missing: $missing}${extra:+ not a knob: $extra}"; fi
}

DEFAULTS=$(config_line)
[ -n "$DEFAULTS" ] && [ ! -s "$T/other" ] && ok "REMOTEIO_LOG=debug lists the knobs: $DEFAULTS" ||
    fail "the debug line of knobs" "$(cat "$T/lines")"
KNOBS=$(tr ' ' '\n' <<<"$DEFAULTS" | cut -d= -f1)
ENVNAMES=$(tr 'a-z' 'A-Z' <<<"$KNOBS" | sed 's/^/REMOTEIO_/')

# The README's configuration table: `REMOTEIO_X` | default | meaning.
TABLE=$(sed -n '/^## Configuration/,/^## /s/^| `\(REMOTEIO_[A-Z_]*\)` | \([^|]*\) |.*/\1 \2/p' "$TOP/README.md" |
        grep -v -e '^REMOTEIO_MAP ' -e '^REMOTEIO_CONFIG ')
same_sets "README's configuration table names every knob, and only knobs" "$ENVNAMES" "$(cut -d' ' -f1 <<<"$TABLE")"
bad=
for kv in $DEFAULTS; do
    k=${kv%%=*} v=${kv#*=}
    # An empty default (log_file) is described in words; log is debug here, as the line
    # itself needs.
    [ -n "$v" ] && [ "$k" != log ] || continue
    row=$(grep "^REMOTEIO_$(tr 'a-z' 'A-Z' <<<"$k") " <<<"$TABLE" | cut -d' ' -f2-)
    [ "${row% }" = "$v" ] || bad="$bad $k (README '${row% }', shim '$v')"
done
[ -z "$bad" ] && ok "README's defaults are the shim's" || fail "README's defaults" "$bad"

# remoteio(1): a .TP entry in ENVIRONMENT for each.
MAN=$(sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$TOP/tools/remoteio.1" |
      sed -n '/^\.TP/{n;s/^\.B \(REMOTEIO_[A-Z_]*\)$/\1/p}' | grep -v -x -e REMOTEIO_MAP -e REMOTEIO_CONFIG)
same_sets "remoteio(1) describes every knob, and only knobs" "$ENVNAMES" "$MAN"

# config/knobs.conf: every knob, set to its default (or shown in a comment).
KC=$TOP/config/knobs.conf
same_sets "config/knobs.conf names every knob, and only knobs" "$KNOBS" \
    "$(sed -n 's/^\(# \)\{0,1\}\([a-z_]*\) = .*/\2/p' "$KC")"
got=$(config_line REMOTEIO_CONFIG="$KC")
[ "$got" = "$DEFAULTS" ] && [ ! -s "$T/other" ] && ok "config/knobs.conf sets each knob to its default" ||
    fail "config/knobs.conf values" "$(diff <(tr ' ' '\n' <<<"$DEFAULTS") <(tr ' ' '\n' <<<"$got") | grep '^[<>]' | tr '\n' ' ') $(head -3 "$T/other")"

# Every example file parses cleanly and its knobs take effect.
for f in "$TOP"/config/*.conf "$TOP/examples/remoteio.conf"; do
    name=${f#"$TOP/"}
    env LD_PRELOAD="$SHIM" REMOTEIO_LOG=debug REMOTEIO_CONFIG="$f" /bin/true 2>"$T/lines"
    line=$(sed -n 's/^remoteio: debug: config //p' "$T/lines")
    complaints=$(grep -v '^remoteio: debug: ' "$T/lines")
    [ -n "$line" ] && [ -z "$complaints" ] && ok "$name: parsed, no line printed but the debug ones" ||
        fail "$name parses" "$(head -3 <<<"$complaints")"
    bad=
    while read -r k v; do
        [ "$k" = log ] || [[ " ${line%;*} " == *" $k=$v "* ]] || bad="$bad $k=$v"
    done < <(sed -n 's/^\([a-z_]*\) *= *\([^ #]*\).*/\1 \2/p' "$f")
    maps=$(grep -c '^map ' "$f")
    [ -z "$bad" ] && [[ $line == *"; $maps mapping"* ]] &&
        ok "$name: every knob it sets took effect, $maps mapping(s)" ||
        fail "$name: knobs took effect" "not in effect:$bad; shim: $line"
done

# The VM and database examples against a real origin (their URLs pointed at it).
W=$T/www
mkdir -p "$W/images"
make_file "$W/images/base.img" 4194304
start_nginx "$W"
here() { sed "s|http://127.0.0.1:8080/|$ORIGIN/|" "$TOP/config/$1" > "$T/$1"; echo "$T/$1"; }
# (Under a preloaded sanitizer runtime qemu can hang at exit with or without the shim.)
qemu_ok() {
    command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || return 1
    timeout -k 2 15 env LD_PRELOAD="$SHIM" qemu-io -f raw -c quit "$T/no-such-image" >/dev/null 2>&1
    [ $? -ne 124 ]
}
if qemu_ok; then
    conf=$(here vm.conf)
    ( cd "$T" && timeout -k 5 60 env LD_PRELOAD="$SHIM" REMOTEIO_CONFIG="$conf" REMOTEIO_STATS=0 \
        qemu-img create -q -f qcow2 -F raw -b /remote/images/base.img vm.qcow2 ) 2>"$T/err" &&
    timeout -k 5 60 env LD_PRELOAD="$SHIM" REMOTEIO_CONFIG="$conf" REMOTEIO_STATS=0 \
        qemu-img compare -q "$T/vm.qcow2" "$W/images/base.img" 2>>"$T/err" &&
        ok "config/vm.conf: a local overlay on the remote base reads as the base" ||
        fail "config/vm.conf with qemu-img" "$(head -3 "$T/err")"
else
    echo "# qemu-img is not installed, or hangs under this LD_PRELOAD: config/vm.conf is only parsed"
fi
if command -v sqlite3 >/dev/null; then
    "$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
db.executemany("INSERT INTO t (name) VALUES (?)", [("row %d" % i,) for i in range(20000)])
db.commit()' "$W/app.sqlite"
    q="SELECT count(*), (SELECT id FROM t WHERE name = 'row 12345') FROM t"
    got=$(timeout -k 5 60 env LD_PRELOAD="$SHIM" REMOTEIO_CONFIG="$(here database.conf)" \
          sqlite3 'file:/data/app.sqlite?immutable=1' "$q" 2>"$T/err")
    [ "$got" = "$(sqlite3 "$W/app.sqlite" "$q")" ] && ok "config/database.conf: sqlite3 answers as on the local copy ($got)" ||
        fail "config/database.conf with sqlite3" "got '$got': $(head -3 "$T/err")"
else
    echo "# sqlite3 is not installed: config/database.conf is only parsed"
fi

# The README's stats line names the counters the shim prints, in its order.
env LD_PRELOAD="$SHIM" REMOTEIO_MAP="/remote/=$ORIGIN/" REMOTEIO_STATS=1 \
    cat /remote/images/base.img 2>"$T/err" >/dev/null
printed=$(grep '^remoteio: stats ' "$T/err" | head -1 | grep -o ' [a-z_]*=' | tr -d ' =' | tr '\n' ' ')
readme=$(sed -n '/^Statistics (`REMOTEIO_STATS`)/,/^$/p' "$TOP/README.md" | grep -o '[a-z_]*=' | tr -d '=' | tr '\n' ' ')
[ -n "$printed" ] && [ "$printed" = "$readme" ] && ok "README's stats line names the printed counters: $printed" ||
    fail "README's stats line" "printed: $printed; README: $readme"
finish

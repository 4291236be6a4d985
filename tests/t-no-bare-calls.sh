#!/usr/bin/env bash
# t-no-bare-calls.sh: the shim never calls its own exported hooks.  Outside the hooks
# (shim/hooks_*.c) and the table of real functions (shim/real.c), a call of an interposed
# name (every X(...) of REAL_FUNCTIONS in shim/real.h and every EXPORT in the hooks) must
# go through REAL(name): a bare call resolves to our own interposer and recurses.
# Comments and string literals are ignored.  Usage: t-no-bare-calls.sh [FILE...] (default:
# every other shim/*.c and shim/*.h).
. "$(dirname "$0")/lib.sh"
cd "$TOP"
require python3
if [ $# -gt 0 ]; then files=("$@"); else
    files=()
    for f in shim/*.c shim/*.h; do
        case $f in shim/hooks_*.c|shim/real.c|shim/real.h) continue;; esac
        files+=("$f")
    done
fi
out=$("$PY" - "${files[@]}" <<'PY'
import re, sys
names = set(re.findall(r'^\s*X\([^,]+,\s*(\w+)\s*,', open('shim/real.h').read(), re.M))
import glob
for f in glob.glob('shim/hooks_*.c'):
    names |= set(re.findall(r'^EXPORT\s[^(]*?\b(\w+)\s*\(', open(f).read(), re.M))
def strip(src):
    # comments and literals become spaces (newlines kept, so line numbers stay right)
    pat = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
    return pat.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), src)
call = re.compile(r'(?<![\w.>$])(' + '|'.join(sorted(names, key=len, reverse=True)) + r')\s*\(')
bad = 0
for f in sys.argv[1:]:
    for no, line in enumerate(strip(open(f).read()).split('\n'), 1):
        for m in call.finditer(line):
            print(f"{f}:{no}: bare call of {m.group(1)}(): use REAL({m.group(1)})")
            bad += 1
print(f"{len(names)} interposed names, {len(sys.argv) - 1} files, {bad} bare calls")
sys.exit(1 if bad else 0)
PY
)
rc=$?
echo "$out"
if [ $rc -eq 0 ]; then ok "no bare call of an interposed name: $(tail -1 <<<"$out")"
else fail "bare calls of interposed names" "$(tail -1 <<<"$out")"; fi
finish

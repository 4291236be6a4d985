# examples/common.sh: set-up shared by the examples (sourced by each of them).
#
# With REMOTEIO_EXAMPLE_ORIGIN set (a URL whose directory holds the files
# examples/make-samples.sh makes) the examples read from there. Otherwise the
# samples are made in a scratch directory and served by nginx on 127.0.0.1
# for as long as the example runs.
#
# Provides: ORIGIN (URL, ends in /), SAMPLES (a local directory with the same
# files, empty when unknown), WORK (scratch directory) and remoteio (the
# wrapper command, REMOTEIO_CMD: build/remoteio from this tree, else the
# installed one).
EX_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REMOTEIO_CMD=$EX_TOP/build/remoteio
[ -x "$REMOTEIO_CMD" ] || REMOTEIO_CMD=$(command -v remoteio) ||
    { echo "remoteio is not built: run make" >&2; exit 1; }
remoteio() { "$REMOTEIO_CMD" "$@"; }
if [ -n "${REMOTEIO_EXAMPLE_ORIGIN:-}" ]; then
    ORIGIN=${REMOTEIO_EXAMPLE_ORIGIN%/}/
    SAMPLES=${REMOTEIO_EXAMPLE_SAMPLES:-}
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/remoteio-example.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
else
    . "$EX_TOP/tests/lib.sh"
    SAMPLES=$T/samples WORK=$T/work
    "$EX_TOP/examples/make-samples.sh" "$SAMPLES" >/dev/null
    start_nginx "$SAMPLES"
    ORIGIN=$ORIGIN/
fi
mkdir -p "$WORK"
set -e

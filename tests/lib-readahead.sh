# tests/lib-readahead.sh: what the t-readahead-*.sh scripts share: a 128 MiB object
# (big) behind nginx, mapped at /remote/, the multi-threaded pread driver, and helpers
# that read nginx's access log.  Source it after lib.sh.
#   lines                   the access log's current length (a mark)
#   origin_since LINE       "requests bytes largest" of the successful GETs after LINE
#   big_since LINE BYTES    GET requests after LINE larger than BYTES
#   stat_field FILE NAME    a REMOTEIO_STATS field summed over the file's lines
require curl python3
require_shim
PREADER=$(preader_path)
MIB=1048576
mkdir -p "$T/www"
head -c $((128 * MIB)) /dev/urandom > "$T/www/big"
start_nginx "$T/www"
export REMOTEIO_MAP="/remote/=$ORIGIN/"

lines() { wc -l < "$NGINX_LOG"; }
# origin_since LINE: "requests bytes largest" of the successful GETs after LINE (the
# health check of start_nginx may reach the log late)
origin_since() {
    tail -n +$(($1 + 1)) "$NGINX_LOG" | awk '/"GET / && $1 ~ /^2/ { n++; b += $2; if ($2 > m) m = $2 }
        END { printf "%d %.0f %.0f\n", n, b, m }'
}
# big_since LINE BYTES: GET requests after LINE larger than BYTES
big_since() { tail -n +$(($1 + 1)) "$NGINX_LOG" | awk -v x="$2" '/"GET / && $2 > x { n++ } END { print n + 0 }'; }
# stat_field FILE NAME: a REMOTEIO_STATS field summed over the file's lines
stat_field() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) s += substr($i, length(k) + 2) } END { print s + 0 }' "$1"; }

#!/usr/bin/env bash
# t-layers.sh: the shim's layers only call downwards.  Every module of shim/ (a .c file
# and its .h) has a level below; a file may include the headers of lower levels only
# (and its own).  A new module must be given its level here, so the layering is decided
# when the file is added.  Levels, lowest first:
#   0  leaves: no project headers (clocks, parsers, the request builder, the policy of
#      readahead, the table of real functions, hashes, starting threads)
#   1  log            2  configuration, libcurl's loader, crypto, the fd table, the
#                        memory and disk cache tiers, header commands
#   (AWS credentials: their types at 0, the sources at 1-3, the chain at 4, the cache of
#   credentials and its refresh thread at 5)
#   3  the connection pool, the readahead workers, the signer, http.h's types, the disk
#      tier under the memory cache
#   4  response checks, S3 addressing and signing   5  the direct exchange, S3 listings
#   (the listing's XML parser at 0)
#   6  HTTP operations (http.c)
#   7  objects   8  open virtual files and directories   9  shim.h (what hooks share)
#   10 path matching, statistics reports   11 virtual descriptors   12 stdio's streams
#   13 the hooks and start-up
# A header can sit below its .c file (http.h holds the types the HTTP files share).
. "$(dirname "$0")/lib.sh"
cd "$TOP"
declare -A level=(
    [clock]=0 [parse]=0 [path]=0 [url]=0 [http_parse]=0 [http_request]=0 [readahead]=0
    [stats]=0 [real]=0 [cleanup]=0 [lifecycle]=0 [disk_hash]=0 [disk_sys]=0 [thread]=0 [s3_list_xml]=0
    [log]=1 [child_env]=1
    [config]=2 [libcurl]=2 [crypto]=2 [fdtable]=2 [cache]=2 [disk_cache]=2
    [aws_creds.h]=0 [aws_ini]=0 [aws_creds_json]=1 [aws_creds_process]=2 [aws_creds_http]=3
    [aws_creds_chain]=4 [aws_creds]=5
    [header_cmd]=2 [disk_tier]=3
    [trace_file]=1 [trace_replay]=2 [trace]=4 [trace_origin]=6
    [pool]=3 [prefetch]=3 [sigv4]=3 [http.h]=3
    [s3]=4
    [http_response]=4
    [http_direct]=5 [s3_list]=5
    [http]=6
    [object]=7
    [vfile]=8 [vdir]=8
    [shim]=9
    [vpath]=10 [report]=10
    [vfd]=11
    [hooks_stdio]=12
    [hooks_fd]=13 [hooks_mmap]=13 [hooks_open]=13 [hooks_path]=13 [hooks_read]=13
    [hooks_stat]=13 [hooks_dir]=13 [hooks_xattr]=13 [init]=13
)
# Files that belong to another file's module.
declare -A module_of=([disk_open]=disk_cache [disk_index]=disk_cache)
bad=0
# level_of FILE: the level of a file (its own entry, else its module's), or nothing.
level_of() {
    local base=$1 name=${1%.*}
    local mod=${module_of[$name]:-$name}
    echo "${level[$base]:-${level[$mod]:-}}"
}
for f in shim/*.c shim/*.h; do
    base=$(basename "$f")
    mine=$(level_of "$base")
    [ -n "$mine" ] || { echo "# $f: no level (add its module to tests/t-layers.sh)"; bad=$((bad + 1)); continue; }
    while read -r inc; do
        [ "$inc" = "${base%.*}" ] && continue # its own header
        theirs=$(level_of "$inc.h")
        if [ -z "$theirs" ]; then
            echo "# $f includes $inc.h, which has no level"; bad=$((bad + 1))
        elif [ "${module_of[${base%.*}]:-${base%.*}}" = "${module_of[$inc]:-$inc}" ]; then
            continue # a file of the same module
        elif [ "$theirs" -ge "$mine" ]; then
            echo "# $f (level $mine) includes $inc.h (level $theirs): a call upwards or sideways"
            bad=$((bad + 1))
        fi
    done < <(sed -n 's/^#include "\([a-z_0-9]*\)\.h".*/\1/p' "$f")
done
[ $bad = 0 ] && ok "every shim/ file includes only lower layers' headers" ||
    fail "layers" "$bad includes go up or sideways"
finish

#!/bin/sh
# Run nginx in front of the sandbox replicas and keep its list of them current.
# Every TOOLGYM_LB_REFRESH_S seconds the service name is resolved again (the engine's DNS answers with
# every replica); when the set of addresses changes, the upstream list is rewritten and nginx reloaded.
set -eu
host=${TOOLGYM_LB_UPSTREAM_HOST:-sandbox}
port=${TOOLGYM_LB_UPSTREAM_PORT:-8080}
every=${TOOLGYM_LB_REFRESH_S:-2}
upstreams=/tmp/toolgym-upstreams.conf
conf=/tmp/toolgym-lb.conf

servers() {
    addresses=$(getent ahostsv4 "$host" 2>/dev/null | awk '{ print $1 }' | sort -u)
    if [ -z "$addresses" ]; then
        # No replica yet: a closed local port, so requests fail fast with 502 until one appears.
        echo "server 127.0.0.1:9;"
    else
        for a in $addresses; do echo "server $a:$port max_fails=1 fail_timeout=2s;"; done
    fi
}

servers >"$upstreams"
sed -e "s|@UPSTREAMS@|$upstreams|" \
    -e "s|@PORT@|${TOOLGYM_LB_PORT:-8080}|" \
    -e "s|@READ_TIMEOUT@|${TOOLGYM_LB_READ_TIMEOUT:-120s}|" \
    /etc/nginx/toolgym-lb.conf.template >"$conf"
echo "toolgym-lb: $host:$port ->" $(grep -c '^server [0-9.]*:'"$port" "$upstreams") "replica(s)"

nginx -c "$conf" -g 'daemon off;' &
nginx_pid=$!
trap 'kill -TERM "$nginx_pid" 2>/dev/null; wait "$nginx_pid"; exit 0' TERM INT

while kill -0 "$nginx_pid" 2>/dev/null; do
    sleep "$every" &
    wait $! || true
    servers >"$upstreams.new"
    if ! cmp -s "$upstreams.new" "$upstreams"; then
        mv "$upstreams.new" "$upstreams"
        echo "toolgym-lb: replicas now:" $(awk '{ print $2 }' "$upstreams")
        nginx -c "$conf" -s reload
    fi
done
wait "$nginx_pid"

#!/bin/sh
# Render the nginx config from the environment and run nginx in the foreground.
# The resolver is the container's own DNS server (Docker: 127.0.0.11; Podman: the network gateway),
# read from /etc/resolv.conf unless TOOLGYM_LB_RESOLVER is set.
set -eu
resolver=${TOOLGYM_LB_RESOLVER:-$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf)}
case "$resolver" in *:*) resolver="[$resolver]" ;; esac
sed -e "s|@RESOLVER@|${resolver:?no nameserver in /etc/resolv.conf}|" \
    -e "s|@RESOLVE_EVERY@|${TOOLGYM_LB_RESOLVE_EVERY:-5s}|" \
    -e "s|@PORT@|${TOOLGYM_LB_PORT:-8080}|" \
    -e "s|@UPSTREAM_HOST@|${TOOLGYM_LB_UPSTREAM_HOST:-sandbox}|" \
    -e "s|@UPSTREAM_PORT@|${TOOLGYM_LB_UPSTREAM_PORT:-8080}|" \
    -e "s|@READ_TIMEOUT@|${TOOLGYM_LB_READ_TIMEOUT:-120s}|" \
    /etc/nginx/toolgym-lb.conf.template >/tmp/toolgym-lb.conf
echo "toolgym-lb: sandbox replicas at ${TOOLGYM_LB_UPSTREAM_HOST:-sandbox}:${TOOLGYM_LB_UPSTREAM_PORT:-8080}, resolver $resolver"
exec nginx -c /tmp/toolgym-lb.conf -g 'daemon off;'

#!/usr/bin/env bash
# make-demo-pcap.sh — record testdata/demo.pcap from real traffic.
#
# Builds two network namespaces joined by a veth pair (addresses that exist
# only inside them), runs nginx (an API over HTTP and HTTPS with a
# self-signed certificate) and dnsmasq in one, and calls it with curl from the
# other: REST calls with ids in paths, JSON bodies, fake credentials, calls to
# hostnames that belong to third-party vendors (resolved by the lab's own
# dnsmasq to the lab server), over plain HTTP and TLS. tcpdump records the
# client side. Needs root, ip, nginx, dnsmasq, curl, tcpdump, openssl.
#
# Usage: scripts/make-demo-pcap.sh [OUT]   (default testdata/demo.pcap)
set -euo pipefail

out=${1:-testdata/demo.pcap}
tag=demo$$
srv=${tag}s cli=${tag}c
work=$(mktemp -d)
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  [ -f "$work/dnsmasq.pid" ] && kill "$(cat "$work/dnsmasq.pid")" 2>/dev/null || true
  [ -n "${tcpdump_pid:-}" ] && kill "$tcpdump_pid" 2>/dev/null || true
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
  rm -rf "/etc/netns/$cli" "$work"
}
trap cleanup EXIT

ip netns add "$srv"
ip netns add "$cli"
ip link add "${tag}a" type veth peer name "${tag}b"
ip link set "${tag}a" netns "$srv"
ip link set "${tag}b" netns "$cli"
ip -n "$srv" addr add 10.203.250.1/24 dev "${tag}a"
ip -n "$cli" addr add 10.203.250.2/24 dev "${tag}b"
ip -n "$srv" link set "${tag}a" up
ip -n "$cli" link set "${tag}b" up
# The "vendor" side answers on a documentation address (RFC 5737 TEST-NET-2)
# so the sensor sees it as external; it exists only inside these namespaces.
ip -n "$srv" addr add 198.51.100.10/24 dev "${tag}a"
ip -n "$cli" route add 198.51.100.0/24 dev "${tag}b"
ip -n "$srv" link set lo up
ip -n "$cli" link set lo up

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lab -keyout "$work/key.pem" \
  -out "$work/cert.pem" 2>/dev/null

cat > "$work/nginx.conf" <<NGINX
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
  access_log off;
  default_type application/json;
  client_body_temp_path $work;
  server {
    listen 10.203.250.1:80;
    listen 198.51.100.10:80;
    listen 198.51.100.10:443 ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    location ~ ^/api/v1/users/[0-9]+/orders/[0-9a-f-]+$ { return 200 '{"id":"o1","total":42.5,"items":[{"sku":"A1"}]}'; }
    location ~ ^/api/v1/users/[0-9]+$ { return 200 '{"id":7,"name":"demo","email":"demo.user@example.org"}'; }
    location = /api/v1/users { return 201 '{"id":99}'; }
    location ~ ^/api/v1/products/[a-z0-9-]+$ { return 200 '{"slug":"x","price":10}'; }
    location = /api/v1/login { return 200 '{"token":"ok"}'; }
    location = /track { return 200 '{"status":1}'; }
    location = /v1/chat/completions { return 200 '{"id":"chatcmpl-1","object":"chat.completion"}'; }
    location = /healthz { return 204; }
    location / { return 404 '{"error":"not found"}'; }
  }
}
NGINX
ip netns exec "$srv" nginx -c "$work/nginx.conf"

cat > "$work/hosts" <<HOSTS
10.203.250.1 api.shop.internal
198.51.100.10 api.mixpanel.com api.openai.com hooks.slack.com
HOSTS
ip netns exec "$srv" dnsmasq --no-resolv --no-hosts --addn-hosts="$work/hosts" \
  --listen-address=10.203.250.1 --bind-interfaces --pid-file="$work/dnsmasq.pid"
mkdir -p "/etc/netns/$cli"
echo "nameserver 10.203.250.1" > "/etc/netns/$cli/resolv.conf"

ip netns exec "$cli" tcpdump -i "${tag}b" -U -s 0 -w "$out" 2>/dev/null &
tcpdump_pid=$!
sleep 1

c() { ip netns exec "$cli" curl -s -o /dev/null --max-time 5 "$@" || true; }
base=http://api.shop.internal
for i in 1 2 3 4 5 6; do
  uid=$((1000 + i * 37))
  c -H "Authorization: Bearer demo-not-a-real-token-$i" "$base/api/v1/users/$uid"
  c -H "Authorization: Bearer demo-not-a-real-token-$i" \
    "$base/api/v1/users/$uid/orders/$(printf '%08x-0000-4000-8000-%012x' $i $((i * 7919)))"
done
for slug in red-shoe blue-hat green-sock; do c "$base/api/v1/products/$slug?ref=home&page=2"; done
c -X POST -H 'Content-Type: application/json' \
  -d '{"name":"Ada Example","email":"ada@example.org","password":"not-a-real-password"}' \
  "$base/api/v1/users"
c -X POST -H 'Content-Type: application/json' -d '{"username":"ada","password":"x"}' \
  "$base/api/v1/login"
c "$base/healthz"
c "$base/wp-admin/setup.php"
# A product-analytics call in clear text, with an email in the body.
c -X POST -H 'Content-Type: application/json' \
  -d '{"event":"signup","properties":{"distinct_id":"u-1043","$email":"ada@example.org"}}' \
  http://api.mixpanel.com/track
# An AI API over TLS: the sensor sees the SNI, not the body.
c -k -X POST -H 'Content-Type: application/json' -d '{"model":"m","messages":[]}' \
  https://api.openai.com/v1/chat/completions
c -k https://hooks.slack.com/services/T000/B000/XXXX
sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
tcpdump_pid=
echo "wrote $out ($(stat -c %s "$out") bytes)"

#!/bin/sh
# Install the apitap sensor as a systemd service.
#   scripts/deploy/install.sh [path/to/apitap]
# Run as root. Idempotent: an existing /etc/apitap/apitap.yaml is kept.
set -eu

bin=${1:-bin/apitap}
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-/usr/local}
unitdir=${UNITDIR:-/etc/systemd/system}

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
[ -x "$bin" ] || { echo "install.sh: $bin is not an executable (run make build first)" >&2; exit 1; }

install -D -m 0755 "$bin" "$prefix/bin/apitap"
install -d -m 0755 /etc/apitap
if [ ! -e /etc/apitap/apitap.yaml ]; then
	# The daemon refuses a config that group or others can write.
	"$prefix/bin/apitap" config example > /etc/apitap/apitap.yaml.new
	chmod 0644 /etc/apitap/apitap.yaml.new
	mv /etc/apitap/apitap.yaml.new /etc/apitap/apitap.yaml
fi
install -d -m 0700 /var/lib/apitap
install -m 0644 "$here/apitap.service" "$unitdir/apitap.service"

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	echo "installed; start with: systemctl enable --now apitap"
else
	echo "installed; systemd is not running here, start apitap by hand"
fi

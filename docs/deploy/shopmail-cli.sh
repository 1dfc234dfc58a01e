#!/bin/sh
# /usr/local/bin/shopmail: run a shopmail command on the server as the service runs it, with its
# environment (/etc/shopmail/shopmail.env) and as its user, e.g.
#   sudo shopmail createadmin --email you@shop.example
#   sudo shopmail check
#   sudo shopmail backup /var/backups/shopmail/shopmail-$(date +%F).sqlite3
set -eu
set -a
. /etc/shopmail/shopmail.env
set +a
cd /var/lib/shopmail
exec runuser -u shopmail -- /opt/shopmail/venv/bin/shopmail "$@"

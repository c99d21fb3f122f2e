#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1; start them from the machine's Debian packages
# if they are installed but stopped, install them if absent. Then create the named databases.
# Usage: scripts/ensure-services.sh [database ...]
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
REDIS_PORT=${REDIS_PORT:-6379}

say() { printf '[services] %s\n' "$*"; }

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
redis_up() { (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 && read -r -t 2 line <&3 && [[ $line == +PONG* ]]) 2>/dev/null; }

apt_install() {
  if [[ $(id -u) -ne 0 ]]; then say "need root to apt-get install $*"; return 1; fi
  say "installing $* from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! pg_up; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql postgresql-client
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { say "PostgreSQL did not come up"; exit 1; }
fi

if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
  redis_up || { say "Redis did not come up"; exit 1; }
fi

# WordNet's data lets the offline extractor tell physical objects from abstractions (it still runs
# without it, with fewer props).
if [[ ! -f /usr/share/wordnet/index.noun ]]; then
  apt_install wordnet-base || say "WordNet data not installed: the offline extractor finds fewer props"
fi

for db in "$@"; do
  if ! psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
    say "creating database $db"
    createdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$db"
  fi
done
say "PostgreSQL and Redis are up"

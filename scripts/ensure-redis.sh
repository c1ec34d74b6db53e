#!/usr/bin/env bash
# Tests talk to a real Redis on 127.0.0.1:6379. Start one where none answers.
set -euo pipefail
port="${REDIS_PORT:-6379}"
if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
  exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found; installing Debian's redis-server" >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
fi
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --dir "${TMPDIR:-/tmp}" --logfile "${TMPDIR:-/tmp}/mendbot-redis.log"
for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && exit 0
  sleep 0.1
done
echo "redis-server did not start on port $port; see ${TMPDIR:-/tmp}/mendbot-redis.log" >&2
exit 1

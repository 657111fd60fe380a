#!/usr/bin/env bash
# Two (or more) Patchbay instances on one PostgreSQL and Redis, behind nginx: the working
# example of docs/deploy.md.
#
#   deploy/run.sh start | stop | status
#
# `start` again with a larger INSTANCES starts only the new instances and reloads nginx with
# the longer upstream list: that is how the deployment grows.
#
# Needs: PATCHBAY_DATABASE_URL, PATCHBAY_REDIS_URL, PATCHBAY_SECRET_KEY, PATCHBAY_ADMIN_KEY.
# Optional: INSTANCES (default 2), FIRST_PORT (8081), LB_PORT (8080), PREFIX (where pid files,
# logs and data dirs go; default /tmp/patchbay-deploy), PATCHBAY (the patchbay command).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
INSTANCES="${INSTANCES:-2}"
FIRST_PORT="${FIRST_PORT:-8081}"
LB_PORT="${LB_PORT:-8080}"
PREFIX="${PREFIX:-/tmp/patchbay-deploy}"
PATCHBAY="${PATCHBAY:-$HERE/../.venv/bin/patchbay}"

ports() { seq "$FIRST_PORT" $((FIRST_PORT + INSTANCES - 1)); }
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_healthy() {
  for _ in $(seq 1 300); do   # up to a minute: a busy machine starts workers slowly
    if curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "instance on port $1 did not become healthy; see $PREFIX/instance-$1/server.log" >&2
  return 1
}

start() {
  : "${PATCHBAY_DATABASE_URL:?set PATCHBAY_DATABASE_URL (postgresql+asyncpg://...)}"
  : "${PATCHBAY_REDIS_URL:?set PATCHBAY_REDIS_URL (redis://...)}"
  : "${PATCHBAY_SECRET_KEY:?set PATCHBAY_SECRET_KEY (the same Fernet key on every instance)}"
  : "${PATCHBAY_ADMIN_KEY:?set PATCHBAY_ADMIN_KEY}"
  mkdir -p "$PREFIX/logs" "$PREFIX/tmp"
  "$PATCHBAY" migrate --config "$HERE/patchbay.toml"   # once, before any instance starts
  for port in $(ports); do
    dir="$PREFIX/instance-$port"
    mkdir -p "$dir"
    if running "$dir/pid"; then continue; fi
    PATCHBAY_PORT="$port" PATCHBAY_DATA_DIR="$dir" \
      nohup "$PATCHBAY" serve --config "$HERE/patchbay.toml" >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
  done
  for port in $(ports); do wait_healthy "$port"; done
  : >"$PREFIX/upstreams.conf"
  for port in $(ports); do
    echo "server 127.0.0.1:$port max_fails=1 fail_timeout=5s;" >>"$PREFIX/upstreams.conf"
  done
  sed "s/__LB_PORT__/$LB_PORT/" "$HERE/nginx.conf" >"$PREFIX/nginx.conf"
  if running "$PREFIX/nginx.pid"; then
    nginx -p "$PREFIX" -c "$PREFIX/nginx.conf" -s reload   # new upstream list, no dropped call
  else
    nginx -p "$PREFIX" -c "$PREFIX/nginx.conf"
  fi
  echo "patchbay: $INSTANCES instances ($(ports | tr '\n' ' ')) behind http://127.0.0.1:$LB_PORT"
}

stop() {
  if running "$PREFIX/nginx.pid"; then nginx -p "$PREFIX" -c "$PREFIX/nginx.conf" -s quit; fi
  for pidfile in "$PREFIX"/instance-*/pid; do
    if [ -f "$pidfile" ]; then
      kill -TERM "$(cat "$pidfile")" 2>/dev/null || true   # graceful: in-flight calls finish
      for _ in $(seq 1 150); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.2; done
      rm -f "$pidfile"
    fi
  done
  echo "patchbay: stopped"
}

status() {
  for port in $(ports); do
    printf 'instance %s: ' "$port"; curl -fsS "http://127.0.0.1:$port/readyz" || echo "down"; echo
  done
  printf 'balancer %s: ' "$LB_PORT"; curl -fsS "http://127.0.0.1:$LB_PORT/readyz" || echo "down"; echo
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

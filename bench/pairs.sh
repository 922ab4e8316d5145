#!/usr/bin/env bash
# `npm run bench:pairs`: the method of bench/RESULTS.md in one command. PAIRS times, it starts
# the floor (the team's plain node:http yardstick) and then this service, each fresh, drives each
# with `npm run bench`, stops it, and at the end prints every pair's c=64 throughput and paced
# p99 with the ratios the goal is stated in, and their medians. Unlike `npm run bench`, which
# drives a running service, this is the comparison harness: it starts and stops both servers.
#
# Run `npm run build` first. It drops and recreates the databases agent_run_api_bench and
# floor_bench and empties Redis databases 5 and 6: use it where nothing else keeps data there.
#
# env: PAIRS (3), FLOOR_DIR (default ../shared/bench/floor), and the bench's own knobs, here
#      defaulting to CONNECTIONS=64 DURATION=10 RATE_DURATION=15 (see bench/bench.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PAIRS=${PAIRS:-3}
FLOOR_SRC=${FLOOR_DIR:-$ROOT/../shared/bench/floor}
export CONNECTIONS=${CONNECTIONS:-64} DURATION=${DURATION:-10} RATE_DURATION=${RATE_DURATION:-15}
PG_ADMIN=postgres://postgres@127.0.0.1:5432/postgres
OURS_URL=http://127.0.0.1:3100
FLOOR_URL=http://127.0.0.1:4010

[ -f dist/src/main.js ] || { echo "bench:pairs: build first (npm run build)" >&2; exit 1; }
[ -f "$FLOOR_SRC/server.mjs" ] || { echo "bench:pairs: no floor at $FLOOR_SRC (set FLOOR_DIR)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

# A copy, so that installing the floor's dependencies leaves the shared folder as it is.
cp -r "$FLOOR_SRC" "$WORK/floor"
chmod -R u+w "$WORK/floor"
# The floor's Queue takes only the host and port of REDIS_URL, so its jobs would pile up in Redis
# database 0 (where `npm start` runs its worker). The copy gets the database too; its work is
# the same.
sed -i 's/connection: { host: u.hostname, port: Number(u.port || 6379),/& db: Number(u.pathname.slice(1) || 0),/' "$WORK/floor/server.mjs"
grep -q 'db: Number(u.pathname' "$WORK/floor/server.mjs" || { echo "bench:pairs: could not point the floor's queue at its Redis database" >&2; exit 1; }
(cd "$WORK/floor" && npm ci --no-audit --no-fund >/dev/null)

wait_listening() {
  for _ in $(seq 1 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "bench:pairs: nothing answers at $1" >&2
  return 1
}

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

run_floor() { # $1: where the bench writes its rows
  local key pid
  key=$(cd "$WORK/floor" && REDIS_URL=redis://127.0.0.1:6379/5 node setup.mjs 2>/dev/null | tail -1)
  (cd "$WORK/floor" && REDIS_URL=redis://127.0.0.1:6379/5 exec node server.mjs 2>/dev/null) &
  pid=$!
  wait_listening "$FLOOR_URL/"
  TARGET_URL=$FLOOR_URL API_KEY=$key AGENT_SCOPE=@bench AGENT_NAME=echo SERVER_PID=$pid JSON_OUT=$1 LABEL=floor node bench/bench.mjs
  stop "$pid"
}

run_ours() { # $1: where the bench writes its rows
  local pid
  node --input-type=module -e "
    import pg from 'pg'; import { Redis } from 'ioredis';
    const db = new pg.Client({ connectionString: '$PG_ADMIN' }); await db.connect();
    await db.query('DROP DATABASE IF EXISTS agent_run_api_bench WITH (FORCE)'); await db.end();
    const redis = new Redis('redis://127.0.0.1:6379/6'); await redis.flushdb(); await redis.quit();"
  (
    set -a
    . ./.env.example
    set +a
    export PORT=3100 PROCESS_ROLE=api PUBLIC_URL=$OURS_URL LOG_LEVEL=warn \
      RUN_RATE_LIMIT_PER_MINUTE=1000000000 ORG_MAX_CONCURRENT_RUNS=100000000 \
      DATABASE_URL=postgres://postgres@127.0.0.1:5432/agent_run_api_bench REDIS_URL=redis://127.0.0.1:6379/6
    exec node dist/src/main.js
  ) &
  pid=$!
  wait_listening "$OURS_URL/ready"
  TARGET_URL=$OURS_URL SERVER_PID=$pid JSON_OUT=$1 LABEL=ours node bench/bench.mjs
  stop "$pid"
}

for i in $(seq 1 "$PAIRS"); do
  echo "== pair $i of $PAIRS: floor, then ours"
  run_floor "$WORK/floor-$i.json"
  run_ours "$WORK/ours-$i.json"
done

node --input-type=module - "$WORK" "$PAIRS" <<'EOF'
import { readFileSync } from 'node:fs';
const [dir, pairs] = process.argv.slice(2);
const rows = (file) => JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')).rows;
const closed = (r) => r.find((row) => row.connections === Math.max(...r.filter((x) => x.connections !== 'paced').map((x) => x.connections)));
const paced = (r) => r.find((row) => row.connections === 'paced');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const out = [];
for (let i = 1; i <= Number(pairs); i++) {
  const floor = rows(`floor-${i}.json`);
  const ours = rows(`ours-${i}.json`);
  const line = { pair: i, floorRps: closed(floor)?.reqPerSec, oursRps: closed(ours)?.reqPerSec, floorP99: paced(floor)?.p99, oursP99: paced(ours)?.p99 };
  line.throughput = line.oursRps / line.floorRps;
  line.p99 = line.oursP99 / line.floorP99;
  out.push(line);
}
const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
console.log('\n| pair | floor req/s | ours req/s | ours / floor | floor paced p99 ms | ours paced p99 ms | ours / floor |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const l of out) {
  console.log(`| ${l.pair} | ${fmt(l.floorRps)} | ${fmt(l.oursRps)} | ${fmt(l.throughput * 100)} % | ${fmt(l.floorP99, 1)} | ${fmt(l.oursP99, 1)} | ${fmt(l.p99, 2)}× |`);
}
const t = median(out.map((l) => l.throughput));
const p = median(out.map((l) => l.p99));
console.log(`\nmedian: throughput ${fmt(t * 100)} % of the floor (goal ≥ 60 %), paced p99 ${fmt(p, 2)}× the floor's (goal ≤ 2×)`);
EOF

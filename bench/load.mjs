// Load generation and reporting for bench.mjs, adapted from the floor bench
// (../shared/bench/floor/bench.mjs) so that both sides are measured the same way:
// autocannon closed loops with a fresh Idempotency-Key per request, an evenly paced
// open-loop node:http client, microsecond latencies of 2xx responses, CPU shares from /proc.
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import autocannon from 'autocannon';

const TICK = 100; // /proc ticks per second

/**
 * Calls `visit({ pid, comm, ticks })` for every process, `ticks` = CPU used so far (utime +
 * stime, 1/100 s). False when /proc cannot be read (not Linux).
 */
export function eachProcess(visit) {
  let dirs;
  try {
    dirs = readdirSync('/proc');
  } catch {
    return false;
  }
  for (const d of dirs) {
    if (!/^\d+$/.test(d)) continue;
    let s;
    try {
      s = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' ');
    visit({ pid: Number(d), comm: s.slice(s.indexOf('(') + 1, close), ticks: Number(f[11]) + Number(f[12]) });
  }
  return true;
}

/**
 * CPU ticks by process group (this generator, the server: SERVER_PID, else every other node,
 * postgres, redis), per pid: backends come and go during a phase (the pool closes idle ones).
 */
export function procTicks(serverPid) {
  const by = { generator: new Map(), server: new Map(), postgres: new Map(), redis: new Map() };
  const read = eachProcess(({ pid, comm, ticks }) => {
    if (pid === process.pid) by.generator.set(pid, ticks);
    else if (serverPid ? pid === serverPid : comm === 'node') by.server.set(pid, ticks);
    else if (comm === 'postgres') by.postgres.set(pid, ticks);
    else if (comm === 'redis-server') by.redis.set(pid, ticks);
  });
  if (!read) return null;
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    by.hostIdle = cpu[3] + cpu[4];
    by.hostTotal = cpu.reduce((a, b) => a + b, 0);
  } catch {
    /* not Linux */
  }
  return by;
}

function cpuDelta(a, b, seconds) {
  if (!a || !b) return null;
  // A process started during the phase counts from zero; one that exited is not counted (never negative).
  const used = (k) => [...b[k]].reduce((sum, [pid, ticks]) => sum + ticks - (a[k].get(pid) ?? 0), 0);
  const pct = (k) => Math.round((used(k) / TICK / seconds) * 100);
  const tot = b.hostTotal - a.hostTotal;
  return {
    // CPU seconds each group used, unrounded (for per-request figures).
    seconds: { generator: used('generator') / TICK, server: used('server') / TICK, postgres: used('postgres') / TICK, redis: used('redis') / TICK },
    host: tot > 0 ? Math.round((1 - (b.hostIdle - a.hostIdle) / tot) * 100) : null, // % of all cores
    generator: pct('generator'),
    server: pct('server'),
    postgres: pct('postgres'),
    redis: pct('redis'), // % of one core
  };
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * A closed loop (or autocannon's bursty overallRate) against one request template.
 * target: { url, path, method, headers, body, idempotency, serverPid }
 */
export async function closedLoop(target, { connections, duration, overallRate, label }) {
  const lat = [];
  const statuses = {};
  let firstBad;
  const opts = {
    url: target.url,
    connections,
    duration,
    pipelining: 1,
    timeout: 10,
    requests: [
      {
        method: target.method,
        path: target.path,
        headers: target.headers,
        body: target.body,
        ...(target.idempotency
          ? {
              setupRequest: (req) => {
                req.headers['idempotency-key'] = randomUUID();
                return req;
              },
            }
          : {}),
        onResponse: (status, body) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if ((status < 200 || status > 299) && !firstBad) firstBad = `${status} ${String(body).slice(0, 300)}`;
        },
      },
    ],
    ...(overallRate ? { overallRate } : {}),
  };
  const before = procTicks(target.serverPid);
  const t0 = process.hrtime.bigint();
  const inst = autocannon(opts);
  inst.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) lat.push(responseTime);
  });
  const r = await inst;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = procTicks(target.serverPid);
  lat.sort((a, b) => a - b);
  return {
    label,
    connections,
    overallRate: overallRate ?? null,
    duration: r.duration,
    ok2xx: r['2xx'],
    reqPerSec: r['2xx'] / r.duration,
    p50: percentile(lat, 50),
    p90: percentile(lat, 90),
    p99: percentile(lat, 99),
    p999: percentile(lat, 99.9),
    max: lat.at(-1),
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    statuses,
    firstBad,
    cpu: cpuDelta(before, after, wall),
  };
}

/**
 * Open loop, evenly paced: request i is sent at t0 + i * 1000/rate ms whatever happened to
 * the earlier ones, so server-side queueing shows up as latency instead of slowing the sender.
 */
export async function paced(target, { rate, duration, label }) {
  const url = new URL(target.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const bodyBuf = Buffer.from(target.body);
  const lat = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let firstBad;
  const total = Math.round(rate * duration);
  const interval = 1000 / rate;
  const pending = new Set();
  const fire = () =>
    new Promise((resolve) => {
      const sent = performance.now();
      const h = { ...target.headers, 'content-length': bodyBuf.length };
      if (target.idempotency) h['idempotency-key'] = randomUUID();
      const req = http.request(
        { host: url.hostname, port: url.port || 80, method: target.method, path: target.path, headers: h, agent },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const ms = performance.now() - sent;
            if (res.statusCode >= 200 && res.statusCode < 300) {
              ok++;
              lat.push(ms);
            } else {
              non2xx++;
              if (!firstBad) firstBad = `${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`;
            }
            resolve();
          });
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(bodyBuf);
    });
  const before = procTicks(target.serverPid);
  const start = performance.now();
  let i = 0;
  await new Promise((done) => {
    const tick = () => {
      const now = performance.now();
      while (i < total && start + i * interval <= now) {
        const p = fire();
        pending.add(p);
        p.then(() => pending.delete(p));
        i++;
      }
      if (i >= total) return done();
      setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
  const wall = (performance.now() - start) / 1000;
  const after = procTicks(target.serverPid);
  agent.destroy();
  lat.sort((a, b) => a - b);
  return {
    label,
    connections: 'paced',
    overallRate: rate,
    duration: wall,
    ok2xx: ok,
    reqPerSec: ok / wall,
    p50: percentile(lat, 50),
    p90: percentile(lat, 90),
    p99: percentile(lat, 99),
    p999: percentile(lat, 99.9),
    max: lat.at(-1),
    errors,
    timeouts: 0,
    non2xx,
    firstBad,
    cpu: cpuDelta(before, after, wall),
  };
}

const fmt = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');

export function table(rows) {
  const out = [
    '| run | conns | req/s (2xx) | p50 ms | p99 ms | p99.9 ms | errors | non-2xx | host CPU % | gen % | server % | pg % | redis % |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const c = r.cpu ?? {};
    out.push(
      `| ${r.label} | ${r.connections} | ${fmt(r.reqPerSec, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.p999)} | ${r.errors + r.timeouts} | ${r.non2xx} | ${c.host ?? '-'} | ${c.generator ?? '-'} | ${c.server ?? '-'} | ${c.postgres ?? '-'} | ${c.redis ?? '-'} |`,
    );
  }
  return out.join('\n');
}

export const format = fmt;

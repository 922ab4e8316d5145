// `npm run bench:e2e`: end-to-end throughput of runs, from accepted (POST /run answered) to
// `success`, against a RUNNING service with a worker, and the time each run waited in the queue
// (startedAt - createdAt). It starts its own OpenAI-compatible model on loopback that answers
// at once, so what is measured is the service: HTTP, PostgreSQL, Redis, BullMQ and the worker.
//
// Start the service as one API process and one worker process, with the limits raised:
//   export RUN_RATE_LIMIT_PER_MINUTE=1000000000 ORG_MAX_CONCURRENT_RUNS=100000000 LOG_LEVEL=warn
//   PORT=3100 PROCESS_ROLE=api    node dist/src/main.js &
//   PROCESS_ROLE=worker WORKER_CONCURRENCY=32 node dist/src/main.js &
// (or one PROCESS_ROLE=all process). Then: TARGET_URL=http://127.0.0.1:3100 npm run bench:e2e
//
// env (all optional):
//   TARGET_URL    http://127.0.0.1:3100
//   RUNS          3000 runs measured (after WARMUP_RUNS)       WARMUP_RUNS 300
//   CONCURRENCY   32 requests in flight while submitting
//   RATE          first row: 0 = submit as fast as CONCURRENCY allows (throughput); N = pace at N runs/s
//   PACED_RATE    300: a second row paced at this rate (queue→start without a backlog); 0 skips it
//   TIMEOUT       120 (s) to wait for every run to end
//   API_PID, WORKER_PID   pids of the service processes: adds CPU milliseconds per run for each,
//                 and for all postgres and redis-server processes (Linux /proc), to see where time goes
//   PG_DB         count only the postgres backends serving this database (its name), not the whole cluster
//   JSON_OUT      file for the raw figures
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { eachProcess } from './load.mjs';

const env = process.env;
const TARGET_URL = (env.TARGET_URL ?? 'http://127.0.0.1:3100').replace(/\/$/, '');
const RUNS = Number(env.RUNS ?? 3000);
const WARMUP_RUNS = Number(env.WARMUP_RUNS ?? 300);
const CONCURRENCY = Number(env.CONCURRENCY ?? 32);
const RATE = Number(env.RATE ?? 0);
const PACED_RATE = Number(env.PACED_RATE ?? 300);
const TIMEOUT_MS = Number(env.TIMEOUT ?? 120) * 1000;
const target = new URL(TARGET_URL);
const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(CONCURRENCY, 8) });

/** The model: `POST /v1/chat/completions` answered at once with a fixed completion. */
function startFakeModel() {
  const answer = JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 0,
    model: 'bench-model',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 20, completion_tokens: 1, total_tokens: 21 },
  });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer));
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** One HTTP call to the service; resolves with status, headers and parsed body. */
function request(method, path, { body, headers = {} } = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path,
        agent,
        headers: { origin: TARGET_URL, ...(payload && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function call(method, path, options) {
  const res = await request(method, path, options);
  if (res.status < 200 || res.status > 299) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 400)}`);
  return res;
}

async function setUp(modelBaseUrl) {
  const suffix = randomBytes(4).toString('hex');
  const signUp = await call('POST', '/api/auth/sign-up/email', {
    body: { email: `bench-e2e-${suffix}@example.test`, password: `bench-${randomBytes(12).toString('hex')}`, name: 'Bench' },
  });
  const cookie = [].concat(signUp.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const org = await call('POST', '/api/orgs', { body: { name: `Bench e2e ${suffix}`, slug: `bench-e2e-${suffix}` }, headers: { cookie } });
  const inOrg = { cookie, 'x-org-id': org.body.id };
  await call('POST', '/api/models', { body: { name: 'bench', baseUrl: modelBaseUrl, apiKey: 'bench', model: 'bench-model', isDefault: true }, headers: inOrg });
  const key = await call('POST', '/api/api-keys', { body: { name: `bench-e2e-${suffix}` }, headers: inOrg });
  const auth = { authorization: `Bearer ${key.body.key}` };
  const name = `e2e-${suffix}`;
  await call('POST', '/api/agents', {
    body: { scope: '@bench', name, manifest: { input: { schema: { type: 'object', properties: { message: { type: 'string' } } } } }, prompt: 'Echo the input.' },
    headers: auth,
  });
  return { auth, path: `/api/agents/@bench/${name}/run` };
}

/** Submits `count` runs with at most CONCURRENCY in flight (paced at `rate` runs/s when > 0); returns the accepted run ids. */
async function submit(setup, count, rate) {
  const ids = [];
  let next = 0;
  let refused = 0;
  const started = performance.now();
  const body = { input: { message: 'hello' } };
  async function loop() {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      if (rate > 0) {
        const due = started + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const res = await request('POST', setup.path, { body, headers: { ...setup.auth, 'appstrate-version': '2026-03-21' } });
      if (res.status === 200) ids.push(res.body.runId);
      else if (++refused <= 3) console.error(`run refused: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return { ids, refused, seconds: (performance.now() - started) / 1000 };
}

/** Waits until none of the org's runs is pending or running. */
async function drain(setup) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const res = await call('GET', '/api/runs?status=pending,running&limit=1', { headers: setup.auth });
    if (res.body.data.length === 0) return;
    if (Date.now() > deadline) throw new Error('runs still pending or running after TIMEOUT');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every run of the org, newest first, through the list route. */
async function allRuns(setup) {
  const runs = [];
  let cursor = '';
  for (;;) {
    const res = await call('GET', `/api/runs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: setup.auth });
    runs.push(...res.body.data);
    if (!res.body.hasMore) return runs;
    cursor = res.body.nextCursor;
  }
}

/** CPU ticks (1/100 s) used so far by the given pids, and by every postgres and redis-server process. */
function cpuTicks() {
  const ticks = { api: 0, worker: 0, postgres: 0, redis: 0 };
  const pids = { [env.API_PID]: 'api', [env.WORKER_PID]: 'worker' };
  const read = eachProcess(({ pid, comm, ticks: used }) => {
    let role = pids[pid] ?? (comm === 'postgres' ? 'postgres' : comm === 'redis-server' ? 'redis' : null);
    if (role === 'postgres' && env.PG_DB) {
      // A backend's title (in cmdline) is "postgres: <cluster>: <user> <database> <client> <state>".
      let title = '';
      try {
        title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        /* exited */
      }
      if (!title.split(/\s+/).includes(env.PG_DB)) role = null;
    }
    if (role) ticks[role] += used;
  });
  return read ? ticks : null;
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');

/** Submits RUNS runs (paced at `rate` when > 0), waits until all ended, and measures them. */
async function measure(setup, label, rate) {
  const before = new Set((await allRuns(setup)).map((r) => r.id));
  const cpuBefore = env.API_PID || env.WORKER_PID ? cpuTicks() : null;
  const wallStart = performance.now();
  const submitted = await submit(setup, RUNS, rate);
  await drain(setup);
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpuAfter = cpuBefore ? cpuTicks() : null;
  const measured = (await allRuns(setup)).filter((r) => !before.has(r.id));

  const byStatus = {};
  for (const r of measured) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const ok = measured.filter((r) => r.status === 'success');
  const ms = (a, b) => Date.parse(b) - Date.parse(a);
  const queueToStart = ok.map((r) => ms(r.createdAt, r.startedAt)).sort((a, b) => a - b);
  const acceptToSuccess = ok.map((r) => ms(r.createdAt, r.completedAt)).sort((a, b) => a - b);
  const firstAccepted = Math.min(...ok.map((r) => Date.parse(r.createdAt)));
  const lastSuccess = Math.max(...ok.map((r) => Date.parse(r.completedAt)));
  const result = {
    label,
    rate,
    runs: measured.length,
    success: ok.length,
    refused: submitted.refused,
    statuses: byStatus,
    submitPerSec: submitted.ids.length / submitted.seconds,
    endToEndPerSec: ok.length / ((lastSuccess - firstAccepted) / 1000),
    wallPerSec: ok.length / wallSeconds,
    queueToStartMs: { p50: pct(queueToStart, 50), p99: pct(queueToStart, 99), max: queueToStart.at(-1) },
    acceptToSuccessMs: { p50: pct(acceptToSuccess, 50), p99: pct(acceptToSuccess, 99), max: acceptToSuccess.at(-1) },
  };
  if (cpuBefore && cpuAfter) {
    // Ticks are 10 ms; per run, in ms of one core.
    result.cpuMsPerRun = Object.fromEntries(Object.keys(cpuBefore).map((k) => [k, Number((((cpuAfter[k] - cpuBefore[k]) * 10) / RUNS).toFixed(2))]));
  }
  console.error(`${label}: ${fmt(result.endToEndPerSec, 0)} runs/s end to end, queue→start p50 ${result.queueToStartMs.p50} ms`);
  return result;
}

const model = await startFakeModel();
const modelBaseUrl = `http://127.0.0.1:${model.address().port}/v1`;
const setup = await setUp(modelBaseUrl);
console.error(`set up: agent ${setup.path}, model at ${modelBaseUrl}; ${WARMUP_RUNS} warm-up runs, then ${RUNS} measured per row (concurrency ${CONCURRENCY})`);

if (WARMUP_RUNS > 0) {
  await submit(setup, WARMUP_RUNS, 0);
  await drain(setup);
}
const results = [await measure(setup, RATE ? `paced ${RATE} runs/s` : 'as fast as accepted', RATE)];
if (PACED_RATE > 0) results.push(await measure(setup, `paced ${PACED_RATE} runs/s`, PACED_RATE));

console.log(`| submission | runs | success | accepted/s | end-to-end runs/s (first createdAt → last completedAt) | queue→start p50 / p99 / max (ms) | accept→success p50 / p99 (ms) |`);
console.log(`|---|---:|---:|---:|---:|---|---|`);
for (const r of results) {
  console.log(
    `| ${r.label} | ${r.runs} | ${r.success} | ${fmt(r.submitPerSec, 0)} | ${fmt(r.endToEndPerSec, 0)} | ${r.queueToStartMs.p50} / ${r.queueToStartMs.p99} / ${r.queueToStartMs.max} | ${r.acceptToSuccessMs.p50} / ${r.acceptToSuccessMs.p99} |`,
  );
}
for (const r of results.filter((x) => x.cpuMsPerRun)) {
  const total = Object.values(r.cpuMsPerRun).reduce((a, b) => a + b, 0);
  console.log(`\nCPU per run, ${r.label} (ms of one core): ${Object.entries(r.cpuMsPerRun).map(([k, v]) => `${k} ${v}`).join(', ')} — total ${total.toFixed(2)} ms, i.e. at most ~${Math.round(2000 / total)} runs/s on 2 idle cores (redis${env.PG_DB ? '' : ' and postgres'} counted machine-wide)`);
}
console.log('\nWhen runs are submitted faster than the worker finishes them, they wait in the queue: the first row\'s queue→start is that backlog. The paced row shows queue→start at a rate the worker sustains.');
const failed = results.filter((r) => r.success !== r.runs || r.runs !== RUNS);
for (const r of failed) console.log(`\nnot all runs of "${r.label}" succeeded: ${JSON.stringify(r.statuses)}`);
if (env.JSON_OUT) writeFileSync(env.JSON_OUT, JSON.stringify({ target: TARGET_URL, at: new Date().toISOString(), concurrency: CONCURRENCY, results }, null, 2));
model.close();
agent.destroy();
process.exit(failed.length === 0 ? 0 : 1);

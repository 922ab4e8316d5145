// `npm run bench`: load test of POST /api/agents/{scope}/{name}/run against a RUNNING service.
// It starts nothing itself. Over HTTP it signs up a fresh user, creates an organization, a
// default model (a placeholder endpoint: with PROCESS_ROLE=api no worker ever calls it), an
// API key and an agent, then measures throughput and latency (p50/p99) at a few closed-loop
// concurrency levels and at an evenly paced rate, every request with a fresh Idempotency-Key.
//
// Start the service with the limits raised, or the bench measures 429s:
//   RUN_RATE_LIMIT_PER_MINUTE=1000000000 ORG_MAX_CONCURRENT_RUNS=100000000 PROCESS_ROLE=api
//
// env (all optional):
//   TARGET_URL        http://127.0.0.1:3100
//   API_VERSION       Appstrate-Version sent with every run request (default: none, i.e. the org's pin)
//   CONNECTIONS       1,16,64       DURATION 10 (s)     WARMUP 3 (s)    WARMUP_CONNECTIONS 16
//   RATE              200 (req/s of the paced run; 0 skips it)    RATE_DURATION = DURATION
//   FIXED_RATE        0 (1: also run autocannon's bursty overallRate at RATE, as the floor bench does)
//   IDEMPOTENCY       1 (0: no Idempotency-Key)
//   BODY              {"input":{"message":"hello from the bench"}}
//   SERVER_PID        pid of the service, for the CPU column (default: every other node process)
//   API_KEY, AGENT_SCOPE, AGENT_NAME   reuse an existing key and agent instead of creating them
//   SETUP_ONLY        1: create the user, org, key and agent, print them as `export …` and stop
//   STEPS             1: instead, the CPU each process spends per request for requests that stop at
//                     successive steps of the run route (c=64, DURATION each; SERVER_PID required)
//   LABEL, JSON_OUT   table heading; file for the raw results
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { closedLoop, format as f, paced, table } from './load.mjs';

const env = process.env;
const TARGET_URL = (env.TARGET_URL ?? 'http://127.0.0.1:3100').replace(/\/$/, '');
const CONNECTIONS = (env.CONNECTIONS ?? '1,16,64').split(',').map(Number).filter((n) => n > 0);
const DURATION = Number(env.DURATION ?? 10);
const WARMUP = Number(env.WARMUP ?? 3);
const WARMUP_CONNECTIONS = Number(env.WARMUP_CONNECTIONS ?? 16);
const RATE = Number(env.RATE ?? 200);
const RATE_DURATION = Number(env.RATE_DURATION ?? DURATION);
const FIXED_RATE = env.FIXED_RATE === '1';
const IDEMPOTENCY = (env.IDEMPOTENCY ?? '1') !== '0';
const BODY = env.BODY ?? JSON.stringify({ input: { message: 'hello from the bench' } });
const SERVER_PID = env.SERVER_PID ? Number(env.SERVER_PID) : undefined;

/** One JSON call of the setup; fails loudly with the service's answer. */
async function call(method, path, { body, headers = {}, expect = [200, 201] } = {}) {
  const res = await fetch(`${TARGET_URL}${path}`, {
    method,
    // Better Auth refuses cookie-bearing writes without an Origin; the service's own URL is trusted.
    headers: { origin: TARGET_URL, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return { res, body: text ? JSON.parse(text) : null };
}

/** A user, an org, its default model, an API key and an agent, all created over the public API. */
async function setUp() {
  const suffix = randomBytes(4).toString('hex');
  const email = `bench-${suffix}@example.test`;
  const signUp = await call('POST', '/api/auth/sign-up/email', {
    body: { email, password: `bench-${randomBytes(12).toString('hex')}`, name: 'Bench' },
  });
  const cookie = signUp.res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  if (!cookie) throw new Error('sign-up set no session cookie');
  const session = { cookie };
  const org = await call('POST', '/api/orgs', { body: { name: `Bench ${suffix}`, slug: `bench-${suffix}` }, headers: session });
  const inOrg = { ...session, 'x-org-id': org.body.id };
  await call('POST', '/api/models', {
    body: { name: 'bench', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'unused', model: 'bench-model', isDefault: true },
    headers: inOrg,
  });
  const key = await call('POST', '/api/api-keys', { body: { name: `bench-${suffix}` }, headers: inOrg });
  const scope = '@bench';
  const name = `echo-${suffix}`;
  await call('POST', '/api/agents', {
    body: {
      scope,
      name,
      manifest: { description: 'Echo the input', input: { schema: { type: 'object', properties: { message: { type: 'string' } } } } },
      prompt: 'Echo the input.',
    },
    headers: { authorization: `Bearer ${key.body.key}` },
  });
  console.error(`set up: org ${org.body.id}, api key ${key.body.keyPrefix}…, agent ${scope}/${name}`);
  return { apiKey: key.body.key, scope, name };
}

const setup = env.API_KEY ? { apiKey: env.API_KEY, scope: env.AGENT_SCOPE ?? '@bench', name: env.AGENT_NAME ?? 'echo' } : await setUp();
if (env.SETUP_ONLY === '1') {
  // For another load generator (e.g. the floor's bench.mjs) against this service: eval "$(SETUP_ONLY=1 npm run -s bench)".
  console.log(`export API_KEY=${setup.apiKey} AGENT_SCOPE=${setup.scope} AGENT_NAME=${setup.name}`);
  process.exit(0);
}
const target = {
  url: TARGET_URL,
  path: `/api/agents/${setup.scope}/${setup.name}/run`,
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    authorization: `Bearer ${setup.apiKey}`,
    ...(env.API_VERSION && { 'appstrate-version': env.API_VERSION }),
  },
  body: BODY,
  idempotency: IDEMPOTENCY,
  serverPid: SERVER_PID,
};

// One request first, so that a misconfigured service fails here and not as a table of errors.
const probe = await fetch(`${TARGET_URL}${target.path}`, { method: 'POST', headers: target.headers, body: BODY });
const probeText = await probe.text();
if (probe.status < 200 || probe.status > 299) throw new Error(`the run route answered ${probe.status}: ${probeText.slice(0, 500)}`);
for (const header of ['ratelimit-policy', 'ratelimit']) {
  if (!probe.headers.get(header)) console.error(`warning: the run route sent no ${header} header`);
}
console.error(`target POST ${TARGET_URL}${target.path}  idempotency=${IDEMPOTENCY}  body=${BODY.length}B  first answer ${probe.status} ${probeText.slice(0, 120)}`);

if (env.STEPS === '1') {
  await steps();
  process.exit(0);
}

if (WARMUP > 0) {
  const w = await closedLoop(target, { connections: WARMUP_CONNECTIONS, duration: WARMUP, label: 'warm-up' });
  console.error(`warm-up: ${f(w.reqPerSec, 0)} req/s, ${w.non2xx} non-2xx, ${w.errors} errors${w.firstBad ? `, first non-2xx: ${w.firstBad}` : ''}`);
}
const rows = [];
for (const connections of CONNECTIONS) {
  const r = await closedLoop(target, { connections, duration: DURATION, label: `closed c=${connections}` });
  rows.push(r);
  console.error(`c=${connections}: ${f(r.reqPerSec, 0)} req/s p99 ${f(r.p99)} ms${r.firstBad ? `  first non-2xx: ${r.firstBad}` : ''}`);
}
if (RATE > 0 && FIXED_RATE) {
  const r = await closedLoop(target, { connections: 16, duration: RATE_DURATION, overallRate: RATE, label: `fixed ${RATE} req/s` });
  rows.push(r);
  console.error(`fixed ${RATE}: ${f(r.reqPerSec, 0)} req/s p99 ${f(r.p99)} ms${r.firstBad ? `  first non-2xx: ${r.firstBad}` : ''}`);
}
if (RATE > 0) {
  const r = await paced(target, { rate: RATE, duration: RATE_DURATION, label: `paced ${RATE} req/s` });
  rows.push(r);
  console.error(`paced ${RATE}: ${f(r.reqPerSec, 0)} req/s p99 ${f(r.p99)} ms${r.firstBad ? `  first non-2xx: ${r.firstBad}` : ''}`);
}

if (env.LABEL) console.log(`### ${env.LABEL}\n`);
console.log(table(rows));
console.log('\nCPU: host = busy share of all cores; gen/server/pg/redis = % of one core. Latencies are of 2xx answers.');
if (env.JSON_OUT) {
  writeFileSync(env.JSON_OUT, JSON.stringify({ target: TARGET_URL, path: target.path, at: new Date().toISOString(), rows }, null, 2));
}

/**
 * Where the server's CPU goes along the run route (API.md section 5): each variant is answered
 * at a later step than the one before, so the differences between rows price the steps. One
 * closed loop at 64 connections per variant; CPU from /proc, in ms per answered request.
 */
async function steps() {
  if (!SERVER_PID) throw new Error('STEPS=1 needs SERVER_PID (the CPU of every node process would be counted)');
  const variants = [
    { label: 'GET /health: the HTTP stack and the global hooks', expect: 200, target: { ...target, method: 'GET', path: '/health', body: undefined, headers: {}, idempotency: false } },
    { label: '401: a malformed API key (refused before any lookup)', expect: 401, target: { ...target, headers: { ...target.headers, authorization: 'Bearer ask_unknown' }, idempotency: false } },
    { label: '400: an empty Idempotency-Key (steps 1–5: auth, version, path, rate limit)', expect: 400, target: { ...target, headers: { ...target.headers, 'idempotency-key': '' }, idempotency: false } },
    { label: `${probe.status}: no Idempotency-Key (the run stored and queued)`, expect: probe.status, target: { ...target, idempotency: false } },
    { label: `${probe.status}: a fresh Idempotency-Key (the whole route)`, expect: probe.status, target: { ...target, idempotency: true } },
  ];
  const out = ['| answered at | status | req/s | server ms/req | pg ms/req | redis ms/req |', '|---|---:|---:|---:|---:|---:|'];
  for (const v of variants) {
    if (WARMUP > 0) await closedLoop(v.target, { connections: 64, duration: Math.min(WARMUP, 3), label: 'warm-up' });
    const r = await closedLoop(v.target, { connections: 64, duration: DURATION, label: v.label });
    const answered = Object.values(r.statuses).reduce((a, b) => a + b, 0);
    // Each variant must be answered where it is meant to be, or its row prices something else.
    if (r.statuses[v.expect] !== answered || r.errors > 0) {
      throw new Error(`${v.label}: expected only ${v.expect}, got ${JSON.stringify(r.statuses)} and ${r.errors} errors (${r.firstBad ?? ''})`);
    }
    const perRequest = (seconds) => (seconds == null ? '-' : f((seconds * 1000) / answered, 3));
    const used = r.cpu?.seconds ?? {};
    out.push(`| ${v.label} | ${v.expect} | ${f(answered / r.duration, 0)} | ${perRequest(used.server)} | ${perRequest(used.postgres)} | ${perRequest(used.redis)} |`);
    console.error(`${v.label}: ${f(answered / r.duration, 0)} req/s`);
  }
  if (env.LABEL) console.log(`### ${env.LABEL}\n`);
  console.log(out.join('\n'));
}

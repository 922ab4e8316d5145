import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAgent, type TestAgent } from './support/agents.js';
import { createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';
import { filesUnder, LeftoverCounter, tempStorageDir, type Leftovers } from './support/run-leftovers.js';
import { seededRandom } from './support/seeded-random.js';

const NEW = '2026-06-11';
const SERVER_LIMIT = 64 * 1024;

/** Real file signatures, so type sniffing has something to recognise. */
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0'), Buffer.alloc(64, 1)]);
const TEXT = Buffer.from('plain words, nothing to sniff');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const MANIFEST = {
  input: {
    schema: {
      type: 'object',
      properties: {
        ticket: { type: 'string' },
        attachment: { type: 'string', format: 'uri', contentMediaType: 'application/pdf' },
        images: { type: 'array', items: { type: 'string', format: 'uri', contentMediaType: 'image/*' }, maxItems: 2 },
        notes: { type: 'string', format: 'uri', contentMediaType: 'text/plain' },
      },
      required: ['ticket'],
    },
    fileConstraints: { attachment: { accept: '.pdf', maxSize: 2048 }, images: { accept: 'image/png, .jpg', maxSize: 4096 } },
  },
};
const REQUIRED_FILE_MANIFEST = {
  input: {
    schema: {
      type: 'object',
      properties: { attachment: { type: 'string', format: 'uri', contentMediaType: 'application/pdf' } },
      required: ['attachment'],
    },
  },
};

describe('multipart runs: files', () => {
  let t: TestApp;
  let leftovers: LeftoverCounter;
  let org: TestOrg;
  let agent: TestAgent;
  let headers: Record<string, string>;

  const post = (path = `${agent.path}/run`) => t.request().post(path).set(headers).set('Appstrate-Version', NEW);
  const withTicket = (req: supertest.Test) => req.field('input', JSON.stringify({ ticket: 'Printer on fire' }));
  const nothingLeft = async (before: Leftovers) => expect(await leftovers.count(org.id)).toEqual(before);

  beforeAll(async () => {
    t = await startApp({ PROCESS_ROLE: 'api', RUN_RATE_LIMIT_PER_MINUTE: '100000', MAX_UPLOAD_BYTES: String(SERVER_LIMIT), FILE_STORAGE_DIR: tempStorageDir() });
    leftovers = new LeftoverCounter(t);
    org = await createOrg(t);
    const model = await org.owner.agent
      .post('/api/models')
      .set('X-Org-Id', org.id)
      .send({ name: 'default', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-unused', model: 'default-model', isDefault: true });
    expect(model.status).toBe(201);
    agent = await createAgent(t, org, { manifest: MANIFEST });
    headers = { Authorization: `Bearer ${(await createApiKey(t, org)).key}` };
  });
  afterAll(async () => {
    await leftovers.close();
    await t.close();
  });

  describe('accepted uploads', () => {
    it('stores a single file: recorded on the run with its SHA-256, referenced from the input, bytes kept', async () => {
      const res = await withTicket(post()).field('metadata', JSON.stringify({ source: 'mail' })).attach('attachment', PDF, { filename: 'report.pdf', contentType: 'application/pdf' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const [file] = res.body.files;
      expect(res.body.files).toEqual([
        { id: expect.stringMatching(/^file_[0-9a-f-]{36}$/), field: 'attachment', filename: 'report.pdf', contentType: 'application/pdf', size: PDF.length, sha256: sha256(PDF) },
      ]);
      expect(res.body.input).toEqual({ ticket: 'Printer on fire', attachment: `file://${file.id}` });
      expect(res.body.metadata).toEqual({ source: 'mail' });

      const [row] = await t.db.query('SELECT * FROM run_files WHERE id = $1', [file.id]);
      expect(row).toMatchObject({ run_id: res.body.id, org_id: org.id, field: 'attachment', sha256: sha256(PDF) });
      const stored = readFileSync(join(t.config.files.storageDir, row.storage_key));
      expect(stored.equals(PDF)).toBe(true);
      expect(filesUnder(t.config.files.storageDir).filter((p) => p.startsWith('staging/'))).toEqual([]);

      const read = await t.request().get(`/api/runs/${res.body.id}`).set(headers);
      expect(read.body.files).toEqual(res.body.files);
      expect(read.body.input).toEqual(res.body.input);
    });

    it('stores an array field from repeated parts, in order, as an array of references', async () => {
      const res = await withTicket(post())
        .attach('images', PNG, { filename: 'one.png', contentType: 'image/png' })
        .attach('images', JPEG, { filename: 'two.jpg', contentType: 'image/jpeg' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.files.map((f: { filename: string; contentType: string; sha256: string }) => [f.filename, f.contentType, f.sha256])).toEqual([
        ['one.png', 'image/png', sha256(PNG)],
        ['two.jpg', 'image/jpeg', sha256(JPEG)],
      ]);
      expect(res.body.input.images).toEqual(res.body.files.map((f: { id: string }) => `file://${f.id}`));
      expect(await leftovers.jobs(org.id)).toEqual(expect.arrayContaining([expect.objectContaining({ id: res.body.id })]));
    });

    it('keeps a client filename without its path or control characters, cut at 255 characters without splitting one', async () => {
      // 254 characters, then an emoji (two UTF-16 units): a plain cut at 255 would keep half of it.
      const name = `C:\\scans\\2026/${'a'.repeat(254)}\u{1F600}.pdf`;
      const body = Buffer.concat([
        Buffer.from(`--XyZ\r\nContent-Disposition: form-data; name="input"\r\n\r\n{"ticket":"t"}\r\n`),
        Buffer.from(`--XyZ\r\nContent-Disposition: form-data; name="attachment"; filename="${name}"\r\nContent-Type: application/pdf\r\n\r\n`),
        PDF,
        Buffer.from('\r\n--XyZ--\r\n'),
      ]);
      const send = () =>
        post().set('Content-Type', 'multipart/form-data; boundary=XyZ').set('Idempotency-Key', `filename-${Date.now()}`).send(body);
      const res = await send();
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.files[0].filename).toBe('a'.repeat(254));
      const [row] = await t.db.query('SELECT filename FROM run_files WHERE run_id = $1', [res.body.id]);
      expect(row.filename).toBe('a'.repeat(254));
      const ctrl = await withTicket(post()).attach('attachment', PDF, { filename: 'tab\there.pdf', contentType: 'application/pdf' });
      expect(ctrl.status, JSON.stringify(ctrl.body)).toBe(201);
      expect(ctrl.body.files[0].filename).toBe('tabhere.pdf');
    });

    it('judges a file by its bytes: a real PDF named scan.bin passes ".pdf"', async () => {
      const res = await withTicket(post()).attach('attachment', PDF, { filename: 'scan.bin', contentType: 'application/octet-stream' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.files[0].contentType).toBe('application/pdf');
    });

    it('falls back to the extension, then the declared type, for bytes nothing recognises', async () => {
      const byExtension = await withTicket(post()).attach('notes', TEXT, { filename: 'notes.txt', contentType: 'application/octet-stream' });
      expect(byExtension.status, JSON.stringify(byExtension.body)).toBe(201);
      expect(byExtension.body.files[0].contentType).toBe('text/plain');
      const byDeclared = await withTicket(post()).attach('notes', TEXT, { filename: 'notes', contentType: 'text/plain' });
      expect(byDeclared.status, JSON.stringify(byDeclared.body)).toBe(201);
      expect(byDeclared.body.files[0].contentType).toBe('text/plain');
    });

    it('takes modelId as a text part, and no input part at all when nothing is required', async () => {
      const open = await createAgent(t, org, { manifest: { input: { schema: { type: 'object', properties: { notes: MANIFEST.input.schema.properties.notes } } } } });
      const model = await org.owner.agent.get('/api/models').set('X-Org-Id', org.id);
      const res = await post(`${open.path}/run`).field('modelId', model.body.data[0].id).attach('notes', TEXT, 'n.txt');
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.model).toBe('default-model');
      expect(Object.keys(res.body.input)).toEqual(['notes']);
    });

    it('answers the 2026-03-21 shape for multipart too', async () => {
      const res = await withTicket(t.request().post(`${agent.path}/run`).set(headers)).attach('attachment', PDF, 'a.pdf');
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['runId']);
    });
  });

  describe('refusals, each leaving no run, no stored file (staging included) and no job', () => {
    it('refuses a file part that is not a file field, naming it', async () => {
      const before = await leftovers.count(org.id);
      const res = await withTicket(post()).attach('attachment', PDF, 'a.pdf').attach('resume', PDF, 'cv.pdf');
      expect(expectProblem(res, 400, 'invalid_request').param).toBe('resume');
      await nothingLeft(before);
    });

    it('refuses an unknown text part, and a text part named after a file field, naming them', async () => {
      const before = await leftovers.count(org.id);
      const unknown = await withTicket(post()).field('comment', 'hi').attach('attachment', PDF, 'a.pdf');
      expect(expectProblem(unknown, 400, 'invalid_request').param).toBe('comment');
      // Not swallowed as an object's prototype.
      const proto = await withTicket(post()).field('__proto__', 'x').attach('attachment', PDF, 'a.pdf');
      expect(expectProblem(proto, 400, 'invalid_request').param).toBe('__proto__');
      const asText = await withTicket(post()).field('attachment', 'https://example.com/a.pdf');
      expect(expectProblem(asText, 400, 'invalid_request').param).toBe('attachment');
      await nothingLeft(before);
    });

    it.each([
      ['not JSON', '{ticket:'],
      ['a JSON array', '["a"]'],
      ['JSON null', 'null'],
      ['nested more than 64 levels', `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ])('refuses an input part that is %s with 400 naming input', async (_label, value) => {
      const before = await leftovers.count(org.id);
      const res = await post().field('input', value).attach('attachment', PDF, 'a.pdf');
      expect(expectProblem(res, 400, 'invalid_request').param).toBe('input');
      await nothingLeft(before);
    });

    it('refuses a metadata part that is not JSON (400 naming it) or breaks the metadata rules (validation_failed, as in a JSON body)', async () => {
      const before = await leftovers.count(org.id);
      const notJson = await withTicket(post()).field('metadata', 'nope').attach('attachment', PDF, 'a.pdf');
      expect(expectProblem(notJson, 400, 'invalid_request').param).toBe('metadata');
      const deep = await withTicket(post()).field('metadata', `{"k":${'['.repeat(100)}${']'.repeat(100)}}`).attach('attachment', PDF, 'a.pdf');
      expect(expectProblem(deep, 400, 'invalid_request').detail).toContain('nested more than 64 levels');
      const tooLong = await withTicket(post()).field('metadata', JSON.stringify({ k: 'v'.repeat(501) })).attach('attachment', PDF, 'a.pdf');
      expect(expectProblem(tooLong, 400, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'metadata' })]);
      for (const notObject of ['[1]', '"tag"', 'null']) {
        const res = await withTicket(post()).field('metadata', notObject).attach('attachment', PDF, 'a.pdf');
        expect(expectProblem(res, 400, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'metadata', code: 'invalid' })]);
      }
      await nothingLeft(before);
    });

    it('refuses a repeated text part, and two files for a single-file field', async () => {
      const before = await leftovers.count(org.id);
      const twice = await withTicket(post()).field('input', '{}').attach('attachment', PDF, 'a.pdf');
      expect(expectProblem(twice, 400, 'invalid_request').param).toBe('input');
      const twoFiles = await withTicket(post()).attach('attachment', PDF, 'a.pdf').attach('attachment', PDF, 'b.pdf');
      expect(expectProblem(twoFiles, 400, 'invalid_request').param).toBe('attachment');
      await nothingLeft(before);
    });

    it('refuses a file over its field’s maxSize with 413 naming the field', async () => {
      const before = await leftovers.count(org.id);
      const big = Buffer.concat([PDF, Buffer.alloc(2048)]);
      const res = await withTicket(post()).attach('attachment', big, 'big.pdf');
      expect(expectProblem(res, 413, 'payload_too_large').param).toBe('attachment');
      await nothingLeft(before);
    });

    it('refuses a file over the server limit with 413 naming the part', async () => {
      const before = await leftovers.count(org.id);
      const res = await withTicket(post()).attach('notes', Buffer.alloc(SERVER_LIMIT + 1, 'a'), 'huge.txt');
      expect(expectProblem(res, 413, 'payload_too_large').param).toBe('notes');
      await nothingLeft(before);
    });

    it('refuses the multipart limits in their turn (after the agent) and keeps them for the key', async () => {
      const before = await leftovers.count(org.id);
      const huge = Buffer.alloc(SERVER_LIMIT + 1, 'a');
      const tooManyParts = (req: supertest.Test) => {
        for (let i = 1; i <= 21; i++) req.field(`x${i}`, 'v');
        return req;
      };
      // Step 6 comes first, whatever the body.
      const missing = `/api/agents/${agent.scope}/nope/run`;
      expectProblem(await withTicket(post(missing)).attach('notes', huge, 'huge.txt'), 404, 'agent_not_found');
      expectProblem(await tooManyParts(post(missing)), 404, 'agent_not_found');
      expect(expectProblem(await tooManyParts(post()), 413, 'payload_too_large').detail).toContain('20 text parts');
      const tooManyFiles = withTicket(post());
      for (let i = 0; i <= 100; i++) tooManyFiles.attach('images', PNG, `${i}.png`);
      expect(expectProblem(await tooManyFiles, 413, 'payload_too_large').detail).toContain('100 files');
      const bigText = await withTicket(post()).field('metadata', JSON.stringify({ k: 'v'.repeat(t.config.http.maxJsonBodyBytes) })).attach('attachment', PDF, 'a.pdf');
      expect(expectProblem(bigText, 413, 'payload_too_large').param).toBe('metadata');
      expectProblem(await post(missing).field('metadata', 'x'.repeat(t.config.http.maxJsonBodyBytes + 1)), 404, 'agent_not_found');

      const key = `limit-${Date.now()}`;
      const first = await withTicket(post().set('Idempotency-Key', key)).attach('notes', huge, 'huge.txt');
      expect(expectProblem(first, 413, 'payload_too_large').param).toBe('notes');
      const replay = await withTicket(post().set('Idempotency-Key', key)).attach('notes', huge, 'huge.txt');
      expect([replay.status, replay.headers['idempotent-replayed'], replay.body]).toEqual([413, 'true', first.body]);
      // The corrected request is another request: a new key is needed. So is one with other files.
      const corrected = await withTicket(post().set('Idempotency-Key', key)).attach('notes', TEXT, 'small.txt');
      expectProblem(corrected, 422, 'idempotency_conflict');
      const otherFiles = await withTicket(post().set('Idempotency-Key', key)).attach('attachment', PDF, 'a.pdf').attach('notes', huge, 'huge.txt');
      expectProblem(otherFiles, 422, 'idempotency_conflict');
      // The oversized file counts by the bytes received up to the limit: other content is another request.
      const otherHuge = await withTicket(post().set('Idempotency-Key', key)).attach('notes', Buffer.alloc(SERVER_LIMIT + 1, 'b'), 'huge.txt');
      expectProblem(otherHuge, 422, 'idempotency_conflict');
      await nothingLeft(before);
    });

    it('refuses a file whose bytes are outside accept, whatever its name or declared type', async () => {
      const before = await leftovers.count(org.id);
      const pngAsPdf = await withTicket(post()).attach('attachment', PNG, { filename: 'a.pdf', contentType: 'application/pdf' });
      expect(expectProblem(pngAsPdf, 400, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'input.attachment', code: 'invalid_input' })]);
      const textAsImage = await withTicket(post())
        .attach('images', PNG, 'ok.png')
        .attach('images', TEXT, { filename: 'pic.txt', contentType: 'image/png' });
      expect(expectProblem(textAsImage, 400, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'input.images.1' })]);
      await nothingLeft(before);
    });

    it('refuses more files than maxItems', async () => {
      const before = await leftovers.count(org.id);
      const res = await withTicket(post()).attach('images', PNG, '1.png').attach('images', PNG, '2.png').attach('images', PNG, '3.png');
      expect(expectProblem(res, 400, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'input.images', code: 'invalid_input' })]);
      await nothingLeft(before);
    });

    it('reports a missing required file, in multipart and in JSON', async () => {
      const needsFile = await createAgent(t, org, { manifest: REQUIRED_FILE_MANIFEST });
      const before = await leftovers.count(org.id);
      const multipart = await post(`${needsFile.path}/run`).field('input', '{}');
      expect(expectProblem(multipart, 400, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'input.attachment', code: 'invalid_input' })]);
      const json = await post(`${needsFile.path}/run`).send({});
      expect(expectProblem(json, 400, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'input.attachment', code: 'invalid_input' })]);
      await nothingLeft(before);
    });

    it('reports the input’s own problems together with the files’', async () => {
      const before = await leftovers.count(org.id);
      const res = await post().field('input', JSON.stringify({ ticket: 42 })).attach('attachment', PNG, 'a.pdf');
      const errors = expectProblem(res, 400, 'validation_failed').errors as Array<{ field: string }>;
      expect(errors.map((e) => e.field).sort()).toEqual(['input.attachment', 'input.ticket']);
      await nothingLeft(before);
    });

    it('refuses malformed multipart with 400 invalid_request', async () => {
      const before = await leftovers.count(org.id);
      const noBoundary = await post().set('Content-Type', 'multipart/form-data').send('--x\r\n');
      expectProblem(noBoundary, 400, 'invalid_request');
      const cut = await post()
        .set('Content-Type', 'multipart/form-data; boundary=XyZ')
        .send('--XyZ\r\nContent-Disposition: form-data; name="attachment"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 partial');
      expectProblem(cut, 400, 'invalid_request');
      // A part without headers is malformed. The parser still hands over the file part it had
      // already buffered after it: that one must not be staged and left behind.
      const headless = await post()
        .set('Content-Type', 'multipart/form-data; boundary=XyZ')
        .send(
          '--XyZ\r\nContent-Disposition: form-data; name="input"\r\n\r\n{"ticket":"t"}\r\n--XyZ\r\n\r\nno headers\r\n' +
            '--XyZ\r\nContent-Disposition: form-data; name="notes"; filename="n.txt"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XyZ--\r\n',
        );
      expectProblem(headless, 400, 'invalid_request');
      await new Promise((r) => setTimeout(r, 200)); // time for a late file to be written, were it staged
      await nothingLeft(before);
    });

    it('refuses unusable multipart in its turn (after the agent), and replays that refusal for its key', async () => {
      const before = await leftovers.count(org.id);
      const cut = (req: supertest.Test) =>
        req
          .set('Content-Type', 'multipart/form-data; boundary=XyZ')
          .send('--XyZ\r\nContent-Disposition: form-data; name="attachment"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 partial');
      // The agent is checked first (step 6), whatever the body.
      expectProblem(await cut(post(`/api/agents/${agent.scope}/nope/run`)), 404, 'agent_not_found');
      expectProblem(await post(`/api/agents/${agent.scope}/nope/run`).set('Content-Type', 'multipart/form-data').send('--x\r\n'), 404, 'agent_not_found');
      const twice = await withTicket(post(`/api/agents/${agent.scope}/nope/run`)).field('input', '{}');
      expectProblem(twice, 404, 'agent_not_found');
      // A kept refusal: the same bytes with the same key replay it; other bytes are another request.
      const key = `malformed-${Date.now()}`;
      const first = await cut(post().set('Idempotency-Key', key));
      expectProblem(first, 400, 'invalid_request');
      const replay = await cut(post().set('Idempotency-Key', key));
      expect(replay.status).toBe(400);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual(first.body);
      const other = await withTicket(post().set('Idempotency-Key', key)).attach('attachment', PDF, 'a.pdf');
      expectProblem(other, 422, 'idempotency_conflict');
      await nothingLeft(before);
    });

    it('discards staged files when a later step refuses: unknown agent, no model', async () => {
      const before = await leftovers.count(org.id);
      const unknown = await withTicket(post(`/api/agents/${agent.scope}/nope/run`)).attach('attachment', PDF, 'a.pdf');
      expectProblem(unknown, 404, 'agent_not_found');
      const noModel = await createAgent(t, org, { manifest: { ...MANIFEST, model: 'missing' } });
      const after = await leftovers.count(org.id);
      const res = await withTicket(post(`${noModel.path}/run`)).attach('attachment', PDF, 'a.pdf');
      expectProblem(res, 400, 'model_not_configured');
      expect(await leftovers.count(org.id)).toEqual(after);
      expect(after).toEqual(before);
    });

    it('discards the staged copy of an idempotent replay (one run, one stored file)', async () => {
      const key = `files-${Date.now()}`;
      const send = () => withTicket(post().set('Idempotency-Key', key)).attach('attachment', PDF, 'a.pdf');
      const first = await send();
      expect(first.status).toBe(201);
      const afterFirst = await leftovers.count(org.id);
      const replay = await send();
      expect(replay.status).toBe(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual(first.body);
      expect(await leftovers.count(org.id)).toEqual(afterFirst);
    });

    it('discards what was staged when the client goes away mid-upload', async () => {
      const before = await leftovers.count(org.id);
      const port = await t.port();
      const boundary = 'AbortBoundary';
      const head =
        `--${boundary}\r\nContent-Disposition: form-data; name="input"\r\n\r\n{"ticket":"x"}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="notes"; filename="n.txt"\r\nContent-Type: text/plain\r\n\r\n`;
      const socket = connect(port, '127.0.0.1');
      await new Promise<void>((done) => socket.once('connect', done));
      socket.write(
        `POST ${agent.path}/run HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${headers.Authorization}\r\n` +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 100000\r\n\r\n${head}${'a'.repeat(5000)}`,
      );
      // Wait until the part is being staged, then vanish.
      const deadline = Date.now() + 10_000;
      while (!filesUnder(t.config.files.storageDir).some((p) => p.startsWith('staging/')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(filesUnder(t.config.files.storageDir).some((p) => p.startsWith('staging/'))).toBe(true);
      socket.destroy();
      for (;;) {
        const now = await leftovers.count(org.id);
        if (now.files === before.files || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await nothingLeft(before);
    });
  });

  describe('generated bodies', () => {
    it('answers 150 generated multipart bodies with a success or a 4xx problem, and keeps only the files of the runs it made', async () => {
      const { next: random, pick } = seededRandom(20261129);
      const B = 'GenB';
      const text = (name: string, value: string) => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
      const file = (name: string, filename: string, type: string, bytes: string) =>
        `--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n${bytes}\r\n`;
      const parts = [
        () => text('input', pick(['{"ticket":"t"}', '{"ticket":"t"}', '{"ticket":1}', '[]', '{', ''])),
        () => text(pick(['modelId', 'metadata', 'ticket', 'other']), pick(['{}', 'x', '{"a":"b"}'])),
        () =>
          file(
            pick(['attachment', 'images', 'notes', 'notes', 'ticket', 'unknown', '']),
            pick(['a.pdf', 'b.png', 'n.txt', '', '../x.pdf']),
            pick(['application/pdf', 'image/png', 'text/plain', 'application/octet-stream']),
            pick([PDF.toString('latin1'), PNG.toString('latin1'), 'hello', '', 'x'.repeat(5000), 'y'.repeat(70_000)]),
          ),
        () => `--${B}\r\n\r\nno headers\r\n`,
        () => `--${B}\r\nContent-Disposition: form-data\r\n\r\nno name\r\n`,
        () => `--${B}\r\nContent-Disposition: form-data; name="notes"; filename="n.txt"\r\nX-Long: ${'a'.repeat(20_000)}\r\n\r\nhi\r\n`,
      ];
      const before = await leftovers.count(org.id);
      const statuses = new Set<number>();
      for (let i = 0; i < 150; i++) {
        let body = Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(parts)()).join('') + pick([`--${B}--\r\n`, `--${B}--\r\n`, '', `--${B}`]);
        if (random() < 0.15) body = body.slice(0, Math.floor(random() * body.length));
        const res = await post().set('Content-Type', `multipart/form-data; boundary=${B}`).send(Buffer.from(body, 'latin1'));
        statuses.add(res.status);
        if (res.status >= 300) {
          expect(res.status, `body ${i}: ${body.slice(0, 200)}`).toBeLessThan(500);
          expect(res.headers['content-type'], `body ${i}`).toMatch(/^application\/problem\+json/);
        }
      }
      await new Promise((r) => setTimeout(r, 200)); // time for a late file to be written, were one staged
      const after = await leftovers.count(org.id);
      // Each run made is queued and each stored file recorded; no staged bytes stay.
      expect(after.jobs - before.jobs).toBe(after.runs - before.runs);
      expect(after.files - before.files).toBe(after.runFiles - before.runFiles);
      expect(filesUnder(t.config.files.storageDir).filter((path) => path.startsWith('staging'))).toEqual([]);
      // The bodies exercised both outcomes.
      expect([...statuses].filter((s) => s === 201 || s === 400).sort()).toEqual([201, 400]);
    });
  });
});

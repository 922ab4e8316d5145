import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TAGS_PER_AGENT, MAX_VERSIONS_PER_AGENT } from '../src/catalog/agent-versions.service.js';
import { AgentsService } from '../src/catalog/agents.service.js';
import { startApp, type TestApp } from './support/app.js';
import { createAgent, DEFAULT_TEST_MANIFEST, publishVersion, type TestAgent } from './support/agents.js';
import { createOrg, expectProblem, type TestOrg } from './support/factories.js';

/** API.md section 3: published versions, yanking, dist-tags; section 5 step 8: resolution. */
describe('agent versions and dist-tags', () => {
  let t: TestApp;
  let org: TestOrg;

  const get = (path: string) => org.owner.agent.get(path).set('X-Org-Id', org.id);
  const post = (path: string, body?: object) => org.owner.agent.post(path).set('X-Org-Id', org.id).send(body);
  const put = (path: string, body?: object) => org.owner.agent.put(path).set('X-Org-Id', org.id).send(body);
  const del = (path: string) => org.owner.agent.delete(path).set('X-Org-Id', org.id);
  const distTags = async (agent: TestAgent) => (await get(agent.path)).body.distTags as Record<string, string>;
  const versionCount = async (agent: TestAgent): Promise<number> =>
    Number((await t.db.query('SELECT count(*)::int AS n FROM agent_versions WHERE agent_id = $1', [agent.id]))[0].n);

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t);
  });
  afterAll(() => t.close());

  describe('publish', () => {
    it('snapshots the live manifest and prompt by default and answers 201 with the version', async () => {
      const agent = await createAgent(t, org, { prompt: 'Live prompt.' });
      const res = await post(`${agent.path}/versions`, { version: '1.0.0' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toEqual({
        version: '1.0.0',
        yanked: false,
        createdAt: expect.any(String),
        tags: ['latest'],
        manifest: DEFAULT_TEST_MANIFEST,
        prompt: 'Live prompt.',
      });
      // Later edits of the live agent do not touch the published version.
      await put(agent.path, { prompt: 'Edited.', manifest: { description: 'edited' } });
      const stored = await get(`${agent.path}/versions/1.0.0`);
      expect(stored.status).toBe(200);
      expect(stored.body).toMatchObject({ version: '1.0.0', prompt: 'Live prompt.', manifest: DEFAULT_TEST_MANIFEST, tags: ['latest'] });
    });

    it('publishes an explicit manifest and prompt, validated like any manifest', async () => {
      const agent = await createAgent(t, org);
      const manifest = { description: 'pinned', timeoutSeconds: 10 };
      const res = await post(`${agent.path}/versions`, { version: '0.1.0', manifest, prompt: 'Pinned.' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ manifest, prompt: 'Pinned.' });
      expect((await get(agent.path)).body.prompt).toBe('You triage tickets.');
      const bad = expectProblem(await post(`${agent.path}/versions`, { version: '0.2.0', manifest: { timeoutSeconds: 0 } }), 400, 'validation_failed');
      expect(bad.errors).toContainEqual(expect.objectContaining({ field: 'manifest.timeoutSeconds' }));
      expect(await versionCount(agent)).toBe(1);
    });

    it.each(['v1.0.0', '1.0', 'one', '1.0.0.0', ' 1.0.0', '01.0.0', ''])('refuses %j as not semver with 400 validation_failed', async (version) => {
      const agent = await createAgent(t, org);
      const problem = expectProblem(await post(`${agent.path}/versions`, { version }), 400, 'validation_failed');
      expect(problem.errors).toContainEqual(expect.objectContaining({ field: 'version' }));
      expect(await versionCount(agent)).toBe(0);
    });

    it('refuses a missing or non-string version and unknown fields', async () => {
      const agent = await createAgent(t, org);
      expect(expectProblem(await post(`${agent.path}/versions`, {}), 400, 'validation_failed').errors).toContainEqual(
        expect.objectContaining({ field: 'version' }),
      );
      expectProblem(await post(`${agent.path}/versions`, { version: 1 }), 400, 'validation_failed');
      expectProblem(await post(`${agent.path}/versions`, { version: '1.0.0', tag: 'beta' }), 400, 'validation_failed');
      expect(await versionCount(agent)).toBe(0);
    });

    it('refuses a version not greater than every existing one, yanked ones included, with 409', async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      await publishVersion(t, org, agent, '1.1.0');
      expectProblem(await post(`${agent.path}/versions`, { version: '1.1.0' }), 409, 'conflict');
      expectProblem(await post(`${agent.path}/versions`, { version: '1.0.5' }), 409, 'conflict');
      expectProblem(await post(`${agent.path}/versions`, { version: '1.1.0+build.2' }), 409, 'conflict');
      expectProblem(await post(`${agent.path}/versions`, { version: '1.1.0-rc.1' }), 409, 'conflict');
      expect((await post(`${agent.path}/versions/1.1.0/yank`)).status).toBe(200);
      expectProblem(await post(`${agent.path}/versions`, { version: '1.1.0' }), 409, 'conflict');
      expectProblem(await post(`${agent.path}/versions`, { version: '1.0.9' }), 409, 'conflict');
      expect(await versionCount(agent)).toBe(2);
      expect((await post(`${agent.path}/versions`, { version: '1.1.1' })).status).toBe(201);
    });

    it(`refuses a version past ${MAX_VERSIONS_PER_AGENT} per agent with 409, storing nothing`, async () => {
      const agent = await createAgent(t, org);
      // All but one of the allowed versions, written directly (publishing each would take minutes).
      await t.db.query(
        `INSERT INTO agent_versions (id, agent_id, org_id, version, manifest, prompt, yanked)
         SELECT gen_random_uuid(), $1, $2, '0.0.' || n, '{}'::jsonb, 'p', false FROM generate_series(1, $3::int - 1) AS n`,
        [agent.id, org.id, MAX_VERSIONS_PER_AGENT],
      );
      expect((await post(`${agent.path}/versions`, { version: '1.0.0' })).status).toBe(201);
      const refused = await post(`${agent.path}/versions`, { version: '1.0.1' });
      expect(expectProblem(refused, 409, 'conflict').detail).toContain(`${MAX_VERSIONS_PER_AGENT} versions`);
      expect(await versionCount(agent)).toBe(MAX_VERSIONS_PER_AGENT);
    });

    it('moves latest on stable publishes only; the first stable publish creates it', async () => {
      const agent = await createAgent(t, org);
      const pre = await post(`${agent.path}/versions`, { version: '1.0.0-beta.1' });
      expect(pre.body.tags).toEqual([]);
      expect(await distTags(agent)).toEqual({});
      await publishVersion(t, org, agent, '1.0.0');
      expect(await distTags(agent)).toEqual({ latest: '1.0.0' });
      await publishVersion(t, org, agent, '2.0.0-rc.1');
      expect(await distTags(agent)).toEqual({ latest: '1.0.0' });
      await publishVersion(t, org, agent, '2.0.0');
      expect(await distTags(agent)).toEqual({ latest: '2.0.0' });
    });

    it('answers 404 for an unknown agent and 400 for bad path parameters', async () => {
      expectProblem(await post('/api/agents/@nobody/nothing/versions', { version: '1.0.0' }), 404, 'agent_not_found');
      expect(expectProblem(await post('/api/agents/nobody/nothing/versions', { version: '1.0.0' }), 400, 'invalid_request').param).toBe('scope');
    });

    it('serializes racing publishes: out-of-order ones fail with 409, never both succeed', async () => {
      const agent = await createAgent(t, org);
      const versions = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0'];
      const shuffled = [...versions].reverse();
      const results = await Promise.all(shuffled.map((version) => post(`${agent.path}/versions`, { version })));
      for (const res of results) expect([201, 409]).toContain(res.status);
      const rows: Array<{ version: string }> = await t.db.query(
        'SELECT version FROM agent_versions WHERE agent_id = $1 ORDER BY created_at, id',
        [agent.id],
      );
      const published = rows.map((r) => r.version);
      expect(published.length).toBe(results.filter((r) => r.status === 201).length);
      // In commit order, each published version is greater than the previous one.
      expect(published).toEqual([...published].sort((a, b) => versions.indexOf(a) - versions.indexOf(b)));

      const same = await Promise.all([0, 1, 2].map(() => post(`${agent.path}/versions`, { version: '9.0.0' })));
      expect(same.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    });

    it('waits for the agent lock: a publish that started earlier but commits a higher version first wins', async () => {
      const agent = await createAgent(t, org);
      // Another writer holds the agent lock and has inserted 2.0.0, not yet committed.
      const writer = t.db.createQueryRunner();
      await writer.connect();
      await writer.startTransaction();
      try {
        await writer.query('SELECT id FROM agents WHERE id = $1 FOR UPDATE', [agent.id]);
        await writer.query(
          `INSERT INTO agent_versions (id, agent_id, org_id, version, manifest, prompt) VALUES ($1, $2, $3, '2.0.0', '{}', 'p')`,
          [randomUUID(), agent.id, org.id],
        );
        const publishing = post(`${agent.path}/versions`, { version: '1.0.0' }).then((res) => res);
        // The request must be blocked on the lock (not racing past it) before the writer commits.
        const deadline = Date.now() + 15_000;
        for (;;) {
          const [{ n }] = await t.db.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          if (n > 0) break;
          if (Date.now() > deadline) throw new Error('the publish never waited for the agent lock');
          await new Promise((r) => setTimeout(r, 50));
        }
        await writer.commitTransaction();
        expectProblem(await publishing, 409, 'conflict');
      } finally {
        if (writer.isTransactionActive) await writer.rollbackTransaction();
        await writer.release();
      }
      const rows: Array<{ version: string }> = await t.db.query('SELECT version FROM agent_versions WHERE agent_id = $1', [agent.id]);
      expect(rows.map((r) => r.version)).toEqual(['2.0.0']);
    });
  });

  describe('list versions', () => {
    it('lists newest first with yanked flags and tags, cursor paged', async () => {
      const agent = await createAgent(t, org);
      for (const v of ['0.1.0', '0.2.0', '1.0.0-beta.1', '1.0.0']) await publishVersion(t, org, agent, v);
      await post(`${agent.path}/versions/0.2.0/yank`);
      await put(`${agent.path}/dist-tags/beta`, { version: '1.0.0-beta.1' });
      await put(`${agent.path}/dist-tags/stable`, { version: '1.0.0' });
      const all = await get(`${agent.path}/versions`);
      expect(all.status).toBe(200);
      expect(all.body).toEqual({
        object: 'list',
        hasMore: false,
        nextCursor: null,
        data: [
          { version: '1.0.0', yanked: false, createdAt: expect.any(String), tags: ['latest', 'stable'] },
          { version: '1.0.0-beta.1', yanked: false, createdAt: expect.any(String), tags: ['beta'] },
          { version: '0.2.0', yanked: true, createdAt: expect.any(String), tags: [] },
          { version: '0.1.0', yanked: false, createdAt: expect.any(String), tags: [] },
        ],
      });
      const page1 = await get(`${agent.path}/versions?limit=3`);
      expect(page1.body.hasMore).toBe(true);
      expect(page1.body.data.map((v: { version: string }) => v.version)).toEqual(['1.0.0', '1.0.0-beta.1', '0.2.0']);
      const page2 = await get(`${agent.path}/versions?limit=3&cursor=${page1.body.nextCursor}`);
      expect(page2.body).toMatchObject({ hasMore: false, nextCursor: null });
      expect(page2.body.data.map((v: { version: string }) => v.version)).toEqual(['0.1.0']);
      expect(expectProblem(await get(`${agent.path}/versions?limit=0`), 400, 'invalid_request').param).toBe('limit');
      expect(expectProblem(await get(`${agent.path}/versions?cursor=%%%`), 400, 'invalid_request').param).toBe('cursor');
    });

    it('lists nothing for a new agent', async () => {
      const agent = await createAgent(t, org);
      expect((await get(`${agent.path}/versions`)).body).toEqual({ object: 'list', data: [], hasMore: false, nextCursor: null });
    });

    it('reads one version; unknown → 404 agent_version_not_found, not semver → 400', async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      expectProblem(await get(`${agent.path}/versions/2.0.0`), 404, 'agent_version_not_found');
      expect(expectProblem(await get(`${agent.path}/versions/latest`), 400, 'invalid_request').param).toBe('version');
      expectProblem(await get('/api/agents/@nobody/nothing/versions/1.0.0'), 404, 'agent_not_found');
    });
  });

  describe('yank', () => {
    it('answers 200 with the version; latest moves to the highest remaining stable, then disappears', async () => {
      const agent = await createAgent(t, org);
      for (const v of ['1.0.0', '1.1.0', '2.0.0-beta.1', '2.0.0']) await publishVersion(t, org, agent, v);
      expect(await distTags(agent)).toEqual({ latest: '2.0.0' });

      const res = await post(`${agent.path}/versions/2.0.0/yank`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ version: '2.0.0', yanked: true, tags: [] });
      expect(await distTags(agent)).toEqual({ latest: '1.1.0' });

      // Yanking again changes nothing.
      expect((await post(`${agent.path}/versions/2.0.0/yank`)).body).toMatchObject({ version: '2.0.0', yanked: true });

      // Yanking a version latest does not point at leaves latest alone.
      await post(`${agent.path}/versions/1.0.0/yank`);
      expect(await distTags(agent)).toEqual({ latest: '1.1.0' });

      await post(`${agent.path}/versions/1.1.0/yank`);
      expect(await distTags(agent)).toEqual({});
      expect((await get(`${agent.path}/versions`)).body.data.map((v: { yanked: boolean }) => v.yanked)).toEqual([true, false, true, true]);
    });

    it('keeps other tags on a yanked version but they stop resolving', async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      await publishVersion(t, org, agent, '1.1.0');
      await put(`${agent.path}/dist-tags/pinned`, { version: '1.0.0' });
      const res = await post(`${agent.path}/versions/1.0.0/yank`);
      expect(res.body.tags).toEqual(['pinned']);
      const service = t.app.get(AgentsService);
      const row = (await service.findByName(org.id, agent.scope, agent.name))!;
      await expect(service.resolve(row, 'pinned')).rejects.toMatchObject({ code: 'agent_version_not_found' });
      await expect(service.resolve(row, '1.0.0')).resolves.toMatchObject({ version: '1.0.0', ref: '1.0.0' });
      await expect(service.resolve(row, '^1.0.0')).resolves.toMatchObject({ version: '1.1.0' });
    });

    it('refuses unknown versions (404) and bad version parameters (400)', async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      expectProblem(await post(`${agent.path}/versions/1.0.1/yank`), 404, 'agent_version_not_found');
      expect(expectProblem(await post(`${agent.path}/versions/not-semver/yank`), 400, 'invalid_request').param).toBe('version');
      expectProblem(await post('/api/agents/@nobody/nothing/versions/1.0.0/yank'), 404, 'agent_not_found');
      expect((await get(`${agent.path}/versions/1.0.0`)).body.yanked).toBe(false);
    });
  });

  describe('dist-tags', () => {
    it('creates and moves a tag, answering 200 {tag, version} both times', async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      await publishVersion(t, org, agent, '2.0.0-beta.1');
      const created = await put(`${agent.path}/dist-tags/beta`, { version: '2.0.0-beta.1' });
      expect(created.status).toBe(200);
      expect(created.body).toEqual({ tag: 'beta', version: '2.0.0-beta.1' });
      const moved = await put(`${agent.path}/dist-tags/beta`, { version: '1.0.0' });
      expect(moved.status).toBe(200);
      expect(moved.body).toEqual({ tag: 'beta', version: '1.0.0' });
      expect(await distTags(agent)).toEqual({ beta: '1.0.0', latest: '1.0.0' });
      // latest can be moved explicitly, to a prerelease too.
      expect((await put(`${agent.path}/dist-tags/latest`, { version: '2.0.0-beta.1' })).body).toEqual({ tag: 'latest', version: '2.0.0-beta.1' });
    });

    it(`refuses a new tag past ${MAX_TAGS_PER_AGENT} per agent besides latest with 409; existing tags and latest still move`, async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      await publishVersion(t, org, agent, '1.1.0');
      // The most tags besides latest, written directly.
      await t.db.query(
        `INSERT INTO agent_dist_tags (agent_id, tag, org_id, version) SELECT $1, 'tag-' || n, $2, '1.0.0' FROM generate_series(1, $3::int) AS n`,
        [agent.id, org.id, MAX_TAGS_PER_AGENT],
      );
      expect(Object.keys(await distTags(agent))).toHaveLength(MAX_TAGS_PER_AGENT + 1);
      expect(expectProblem(await put(`${agent.path}/dist-tags/one-more`, { version: '1.0.0' }), 409, 'conflict').detail).toContain('dist-tags');
      expect((await put(`${agent.path}/dist-tags/tag-2`, { version: '1.1.0' })).body).toEqual({ tag: 'tag-2', version: '1.1.0' });
      expect((await put(`${agent.path}/dist-tags/latest`, { version: '1.0.0' })).body).toEqual({ tag: 'latest', version: '1.0.0' });
      expect(Object.keys(await distTags(agent))).toHaveLength(MAX_TAGS_PER_AGENT + 1);
    });

    it('refuses an unknown or yanked version with 409, changing nothing', async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      await publishVersion(t, org, agent, '1.1.0');
      await post(`${agent.path}/versions/1.0.0/yank`);
      expectProblem(await put(`${agent.path}/dist-tags/beta`, { version: '3.0.0' }), 409, 'conflict');
      expectProblem(await put(`${agent.path}/dist-tags/beta`, { version: '1.0.0' }), 409, 'conflict');
      expectProblem(await put(`${agent.path}/dist-tags/latest`, { version: '1.0.0' }), 409, 'conflict');
      expect(await distTags(agent)).toEqual({ latest: '1.1.0' });
    });

    it.each(['Beta', '1beta', '-x', 'v1.2.3', 'a b', 'a'.repeat(129)])('refuses the tag %j with 400 naming it', async (tag) => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      const res = await put(`${agent.path}/dist-tags/${encodeURIComponent(tag)}`, { version: '1.0.0' });
      expect(expectProblem(res, 400, 'invalid_request').param).toBe('tag');
      expect(await distTags(agent)).toEqual({ latest: '1.0.0' });
    });

    it('refuses a body without a semver version', async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      expectProblem(await put(`${agent.path}/dist-tags/beta`, {}), 400, 'validation_failed');
      expect(expectProblem(await put(`${agent.path}/dist-tags/beta`, { version: 'latest' }), 400, 'validation_failed').errors).toContainEqual(
        expect.objectContaining({ field: 'version' }),
      );
    });

    it('deletes a tag (204); latest cannot be deleted (409); unknown tag 404', async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      await put(`${agent.path}/dist-tags/beta`, { version: '1.0.0' });
      const res = await del(`${agent.path}/dist-tags/beta`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(await distTags(agent)).toEqual({ latest: '1.0.0' });
      expectProblem(await del(`${agent.path}/dist-tags/latest`), 409, 'conflict');
      expect(await distTags(agent)).toEqual({ latest: '1.0.0' });
      expectProblem(await del(`${agent.path}/dist-tags/beta`), 404, 'not_found');
      expect(expectProblem(await del(`${agent.path}/dist-tags/Bad`), 400, 'invalid_request').param).toBe('tag');
      expectProblem(await del('/api/agents/@nobody/nothing/dist-tags/beta'), 404, 'agent_not_found');
    });

    it('never touches another organization’s tags', async () => {
      const agent = await createAgent(t, org);
      await publishVersion(t, org, agent, '1.0.0');
      const other = await createOrg(t);
      const otherPut = await other.owner.agent.put(`${agent.path}/dist-tags/beta`).set('X-Org-Id', other.id).send({ version: '1.0.0' });
      expectProblem(otherPut, 404, 'agent_not_found');
      const otherDel = await other.owner.agent.delete(`${agent.path}/dist-tags/latest`).set('X-Org-Id', other.id);
      expectProblem(otherDel, 404, 'agent_not_found');
      const otherYank = await other.owner.agent.post(`${agent.path}/versions/1.0.0/yank`).set('X-Org-Id', other.id);
      expectProblem(otherYank, 404, 'agent_not_found');
      expect(await distTags(agent)).toEqual({ latest: '1.0.0' });
      expect((await get(`${agent.path}/versions/1.0.0`)).body.yanked).toBe(false);
    });
  });

  describe('resolution (what the run endpoint uses)', () => {
    it('resolves live, exact, tag and range selectors against the stored catalogue', async () => {
      const agent = await createAgent(t, org, { prompt: 'draft prompt' });
      await publishVersion(t, org, agent, '1.0.0', { prompt: 'one' });
      await publishVersion(t, org, agent, '1.1.0', { prompt: 'one-one' });
      await publishVersion(t, org, agent, '2.0.0-beta.1', { prompt: 'two-beta', manifest: { timeoutSeconds: 5 } });
      await put(`${agent.path}/dist-tags/beta`, { version: '2.0.0-beta.1' });
      const service = t.app.get(AgentsService);
      const row = await service.findByName(org.id, agent.scope, agent.name);
      expect(row?.id).toBe(agent.id);
      expect(await service.findByName(org.id, agent.scope, 'missing')).toBeNull();
      expect(await service.findByName((await createOrg(t)).id, agent.scope, agent.name)).toBeNull();

      await expect(service.resolve(row!, undefined)).resolves.toEqual({ manifest: DEFAULT_TEST_MANIFEST, prompt: 'draft prompt', version: null, ref: 'draft' });
      await expect(service.resolve(row!, '')).resolves.toMatchObject({ version: null, ref: 'draft' });
      await expect(service.resolve(row!, '1.0.0')).resolves.toMatchObject({ prompt: 'one', version: '1.0.0', ref: '1.0.0' });
      await expect(service.resolve(row!, 'latest')).resolves.toMatchObject({ prompt: 'one-one', version: '1.1.0' });
      await expect(service.resolve(row!, 'beta')).resolves.toEqual({ manifest: { timeoutSeconds: 5 }, prompt: 'two-beta', version: '2.0.0-beta.1', ref: '2.0.0-beta.1' });
      await expect(service.resolve(row!, '^1.0.0')).resolves.toMatchObject({ version: '1.1.0' });
      await expect(service.resolve(row!, '*')).resolves.toMatchObject({ version: '1.1.0' });
      await expect(service.resolve(row!, '>=2.0.0-beta.0')).resolves.toMatchObject({ version: '2.0.0-beta.1' });
      await expect(service.resolve(row!, 'nightly')).rejects.toMatchObject({ code: 'agent_version_not_found' });
      await expect(service.resolve(row!, '^3.0.0')).rejects.toMatchObject({ code: 'agent_version_not_found' });
      await expect(service.resolve(row!, '$$')).rejects.toMatchObject({ code: 'invalid_request', options: { param: 'version' } });
    });
  });
});

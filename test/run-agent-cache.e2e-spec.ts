import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRunCache } from '../src/runs/agent-run-cache.js';
import { parseAgentPath } from '../src/catalog/agent-path.js';
import { startApp, type TestApp } from './support/app.js';
import { createOrg, expectProblem, type TestOrg } from './support/factories.js';
import { FakeModelServer } from './support/fake-model-server.js';
import { createAgent, createFakeModel, keyCaller, startRun, type RunCaller } from './support/run-helpers.js';

/**
 * The run endpoint keeps the agents it ran in memory (AgentRunCache) to skip a lookup. Two API
 * processes share the database: one changes the agent (or the org's default model), the other
 * still holds what it read before, and must answer exactly as if it had read afresh.
 */
describe('runs through a process whose cached agent is stale', () => {
  let writer: TestApp;
  let runner: TestApp;
  let fake: FakeModelServer;
  let org: TestOrg;
  let caller: RunCaller;

  const TICKET_ONLY = { type: 'object', properties: { ticket: { type: 'string' } }, required: ['ticket'], additionalProperties: false };
  const WITH_PRIORITY = {
    type: 'object',
    properties: { ticket: { type: 'string' }, priority: { type: 'string' } },
    required: ['ticket', 'priority'],
    additionalProperties: false,
  };

  beforeAll(async () => {
    fake = await FakeModelServer.start();
    writer = await startApp({ PROCESS_ROLE: 'api' });
    runner = await startApp({ PROCESS_ROLE: 'api' });
    org = await createOrg(writer);
    caller = await keyCaller(writer, org);
  });
  afterAll(async () => {
    await runner?.close();
    await writer?.close();
    await fake?.close();
  });

  const snapshot = async (runId: string) =>
    (await runner.db.query(`SELECT prompt, manifest, model FROM runs WHERE id = $1`, [runId]))[0] as { prompt: string; manifest: any; model: string };
  const update = async (agent: { path: string }, body: Record<string, unknown>) => {
    const res = await org.owner.agent.put(agent.path).set('X-Org-Id', org.id).send(body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };
  const isCached = (agent: { scope: string; name: string }) => runner.app.get(AgentRunCache).get(org.id, parseAgentPath(agent.scope, agent.name)) !== undefined;

  it('stores the agent as it is now, and judges the input by its current schema', async () => {
    const model = await createFakeModel(writer, org, fake);
    const agent = await createAgent(writer, org, { modelName: model.name, prompt: 'First prompt.', manifest: { input: { schema: TICKET_ONLY } } });
    await startRun(runner, caller, agent, { input: { ticket: 'a' } });
    expect(isCached(agent)).toBe(true);

    // The prompt changes: an input valid before and after still gets the new prompt.
    await update(agent, { prompt: 'Second prompt.' });
    const afterPrompt = await startRun(runner, caller, agent, { input: { ticket: 'b' } });
    expect((await snapshot(afterPrompt.id)).prompt).toBe('Second prompt.');

    // The schema now requires `priority`: refused if missing (valid for the old schema), accepted if present.
    await update(agent, { manifest: { model: model.name, input: { schema: WITH_PRIORITY } } });
    const missing = await runner.request().post(`${agent.path}/run`).set(caller.headers).send({ input: { ticket: 'c' } });
    expect(expectProblem(missing, 400, 'validation_failed').errors).toEqual([expect.objectContaining({ field: 'input.priority' })]);
    await update(agent, { manifest: { model: model.name, input: { schema: TICKET_ONLY } } });
    await startRun(runner, caller, agent, { input: { ticket: 'd' } }); // cached again, with TICKET_ONLY
    await update(agent, { manifest: { model: model.name, input: { schema: WITH_PRIORITY } } });
    const withPriority = await startRun(runner, caller, agent, { input: { ticket: 'e', priority: 'high' } });
    expect((await snapshot(withPriority.id)).manifest.input.schema).toEqual(WITH_PRIORITY);
  });

  it('stores the current agent on the multipart path and under an Idempotency-Key too', async () => {
    const model = await createFakeModel(writer, org, fake);
    const schema = { type: 'object', properties: { ticket: { type: 'string' }, notes: { type: 'string', format: 'uri', contentMediaType: 'text/plain' } } };
    const agent = await createAgent(writer, org, { modelName: model.name, prompt: 'First prompt.', manifest: { input: { schema } } });
    const multipart = () =>
      runner.request().post(`${agent.path}/run`).set(caller.headers).set('Appstrate-Version', '2026-06-11')
        .field('input', JSON.stringify({ ticket: 'x' })).attach('notes', Buffer.from('hello'), 'notes.txt');

    expect((await multipart()).status).toBe(201);
    await update(agent, { prompt: 'Second prompt.' });
    const withFile = await multipart();
    expect(withFile.status, JSON.stringify(withFile.body)).toBe(201);
    expect((await snapshot(withFile.body.id)).prompt).toBe('Second prompt.');
    expect(withFile.body.files).toHaveLength(1);
    const [{ files }] = await runner.db.query(`SELECT count(*)::int AS files FROM run_files WHERE run_id = $1`, [withFile.body.id]);
    expect(files).toBe(1);

    await update(agent, { prompt: 'Third prompt.' });
    const keyed = () => startRun(runner, caller, agent, { input: { ticket: 'y' } }, { 'Idempotency-Key': `cache-${withFile.body.id}` });
    const first = await keyed();
    expect((await snapshot(first.id)).prompt).toBe('Third prompt.');
    expect((await keyed()).id).toBe(first.id);
  });

  it('uses the organization’s default model as it is now', async () => {
    const first = await createFakeModel(writer, org, fake, { isDefault: true });
    // No `model` in the manifest: the run takes the org default.
    const agent = await createAgent(writer, org, { modelName: first.name, manifest: { model: undefined } });
    expect((await snapshot((await startRun(runner, caller, agent)).id)).model).toBe(first.model);
    expect(isCached(agent)).toBe(true);

    const removed = await org.owner.agent.delete(`/api/models/${first.id}`).set('X-Org-Id', org.id);
    expect(removed.status).toBe(204);
    const none = await runner.request().post(`${agent.path}/run`).set(caller.headers).send({});
    expectProblem(none, 400, 'model_not_configured');

    const second = await createFakeModel(writer, org, fake, { isDefault: true });
    await startRun(runner, caller, agent); // cached with `second` as the default
    await writer.db.query(`UPDATE models SET is_default = false WHERE id = $1`, [second.id]);
    const third = await createFakeModel(writer, org, fake, { isDefault: true });
    expect((await snapshot((await startRun(runner, caller, agent)).id)).model).toBe(third.model);
    // No route changes a model's string, but the check covers it too.
    await writer.db.query(`UPDATE models SET model = $2 WHERE id = $1`, [third.id, `${third.model}-renamed`]);
    expect((await snapshot((await startRun(runner, caller, agent)).id)).model).toBe(`${third.model}-renamed`);
  });

  it('answers agent_not_found once the agent is gone, whatever it cached', async () => {
    const model = await createFakeModel(writer, org, fake);
    const agent = await createAgent(writer, org, { modelName: model.name });
    await startRun(runner, caller, agent);
    expect(isCached(agent)).toBe(true);
    await writer.db.query(`DELETE FROM runs WHERE agent_id = (SELECT id FROM agents WHERE org_id = $1 AND name = $2)`, [org.id, agent.name]);
    await writer.db.query(`DELETE FROM agents WHERE org_id = $1 AND name = $2`, [org.id, agent.name]);
    expectProblem(await runner.request().post(`${agent.path}/run`).set(caller.headers).send({}), 404, 'agent_not_found');
    expect(isCached(agent)).toBe(false);
  });
});

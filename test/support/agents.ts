import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from './app.js';
import type { TestOrg } from './factories.js';

export interface TestAgent {
  id: string;
  scope: string;
  name: string;
  /** `/api/agents/@scope/name` */
  path: string;
}

export const DEFAULT_TEST_MANIFEST = {
  description: 'Triage a support ticket',
  timeoutSeconds: 60,
  input: { schema: { type: 'object', properties: { ticket: { type: 'string' } }, required: ['ticket'] } },
  output: { schema: { type: 'object', properties: { priority: { enum: ['low', 'high'] } } } },
};

/** Creates an agent in `org` as its owner (unique scope/name unless given). */
export async function createAgent(
  _t: TestApp,
  org: TestOrg,
  body: { scope?: string; name?: string; manifest?: unknown; prompt?: string } = {},
): Promise<TestAgent> {
  const scope = body.scope ?? `@s-${randomBytes(4).toString('hex')}`;
  const name = body.name ?? `agent-${randomBytes(4).toString('hex')}`;
  const res = await org.owner.agent
    .post('/api/agents')
    .set('X-Org-Id', org.id)
    .send({ scope, name, manifest: body.manifest ?? DEFAULT_TEST_MANIFEST, prompt: body.prompt ?? 'You triage tickets.' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id, scope, name, path: `/api/agents/${scope}/${name}` };
}

/** Publishes `version` of an agent as the org owner (the live manifest and prompt unless given). */
export async function publishVersion(
  _t: TestApp,
  org: TestOrg,
  agent: TestAgent,
  version: string,
  body: { manifest?: unknown; prompt?: string } = {},
): Promise<void> {
  const res = await org.owner.agent.post(`${agent.path}/versions`).set('X-Org-Id', org.id).send({ version, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

import { randomBytes } from 'node:crypto';
import type supertest from 'supertest';
import { expect } from 'vitest';
import type { Role } from '../../src/auth/permissions.js';
import { PROBLEM_CODES, type ProblemCode } from '../../src/common/problem/problem-codes.js';
import type { TestApp } from './app.js';

export interface TestUser {
  id: string;
  email: string;
  /** A supertest agent holding the user's session cookie. */
  agent: supertest.Agent;
}

export interface TestOrg {
  id: string;
  slug: string;
  owner: TestUser;
}

const unique = () => randomBytes(6).toString('hex');

/** Signs up a new user through Better Auth; the returned agent keeps the session cookie. */
export async function signUp(t: TestApp, name = 'Test User'): Promise<TestUser> {
  const agent = t.request();
  const email = `u-${unique()}@example.test`;
  const res = await agent.post('/api/auth/sign-up/email').send({ email, password: 'correct-horse-battery', name });
  expect(res.status).toBe(200);
  return { id: res.body.user.id, email, agent };
}

/** A new org owned by `owner` (a fresh user when omitted). */
export async function createOrg(t: TestApp, owner?: TestUser): Promise<TestOrg> {
  const user = owner ?? (await signUp(t, 'Owner'));
  const slug = `org-${unique()}`;
  const res = await user.agent.post('/api/orgs').send({ name: `Org ${slug}`, slug });
  expect(res.status).toBe(201);
  return { id: res.body.id, slug, owner: user };
}

/** Mints an API key as `user` (the org owner by default) and returns the plaintext. */
export async function createApiKey(
  t: TestApp,
  org: TestOrg,
  options: { user?: TestUser; scopes?: string[]; expiresAt?: string } = {},
): Promise<{ id: string; key: string }> {
  const user = options.user ?? org.owner;
  const res = await user.agent
    .post('/api/api-keys')
    .set('X-Org-Id', org.id)
    .send({ name: `key-${unique()}`, ...(options.scopes && { scopes: options.scopes }), ...(options.expiresAt && { expiresAt: options.expiresAt }) });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: res.body.key };
}

/** Adds a new user to the org with `role`, through the members route. */
export async function addMember(t: TestApp, org: TestOrg, role: Role): Promise<TestUser> {
  const user = await signUp(t, `Member ${role}`);
  const res = await org.owner.agent.post(`/api/orgs/${org.id}/members`).send({ email: user.email, role });
  expect(res.status).toBe(201);
  return user;
}

/** Asserts an RFC 9457 answer with the given status and code, and returns its body. */
export function expectProblem(res: supertest.Response, status: number, code: string): Record<string, unknown> {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe(code);
  expect(res.body.status).toBe(status);
  expect(res.body.type).toBe(`https://docs.appstrate.dev/errors/${code.replace(/_/g, '-')}`);
  // The code's own title, whichever layer answered (filter, middleware, replay).
  expect(res.body.title).toBe(PROBLEM_CODES[code as ProblemCode].title);
  expect(res.body.requestId).toBe(res.headers['request-id']);
  expect(res.body.instance).toBe(`urn:appstrate:request:${res.headers['request-id']}`);
  expect(typeof res.body.detail).toBe('string');
  return res.body;
}

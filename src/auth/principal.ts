import type { Permission, Role } from './permissions.js';

/**
 * Who is calling, decided once by the AuthGuard and handed down unchanged. Services take
 * the principal (or its `orgId`) explicitly; nothing re-derives it from headers.
 */
export interface Principal {
  /** How the caller came in. */
  kind: 'session' | 'api_key';
  /** The signed-in user, or the user who created the API key. */
  userId: string;
  apiKeyId: string | null;
  /** The organization acted in; null only on routes that need no org context. */
  orgId: string | null;
  /** The user's role in `orgId` (for keys: the creator's current role). */
  role: Role | null;
  permissions: ReadonlySet<Permission>;
  /** Set when an API key acts on behalf of an end-user (`Appstrate-User`). */
  endUserId: string | null;
  /** The organization's pinned API version (used when the request names none). */
  orgApiVersion: string | null;
}

/** A principal known to act inside an organization. */
export type OrgPrincipal = Principal & { orgId: string; role: Role };

/** The caller as idempotency keys and rate limits count it: the API key, else the user. */
export function callerKey(principal: Principal): string {
  return principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`;
}

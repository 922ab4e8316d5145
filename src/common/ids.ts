import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7, validate as isUuid, version as uuidVersion } from 'uuid';

// Request ids are drawn from a pooled buffer: one CSPRNG call per 341 requests instead of one
// per request, which showed up in the hot path's profile. They are identifiers, not secrets.
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += bytes;
  return pool.toString('hex', poolOffset - bytes, poolOffset);
}

export const newRequestId = (): string => `req_${randomHex(12)}`;
export const newRunId = (): string => `run_${uuidv7()}`;
export const newEndUserId = (): string => `eu_${uuidv7()}`;
export const newFileId = (): string => `file_${uuidv7()}`;
export const newUuid = (): string => uuidv7();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any canonical hyphenated UUID (organizations, keys, agents, models). */
export const isUuidString = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** `prefix_<uuidv7>` as issued by this service (runs, end-users). */
export function isPrefixedV7(value: unknown, prefix: 'run_' | 'eu_' | 'file_'): value is string {
  if (typeof value !== 'string' || !value.startsWith(prefix)) return false;
  const uuid = value.slice(prefix.length);
  return UUID.test(uuid) && isUuid(uuid) && uuidVersion(uuid) === 7;
}

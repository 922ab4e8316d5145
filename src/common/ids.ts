import { randomFillSync } from 'node:crypto';
import { v7, validate as isUuid, version as uuidVersion } from 'uuid';

// Request ids and UUIDv7s draw their randomness from a pooled buffer: one CSPRNG call per 4 KiB
// instead of one per id, which showed up in the run endpoint's profile. Ids are identifiers,
// not secrets (API keys and session tokens do not come from here).
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;

/** `bytes` fresh random bytes, a view of the pool: read them before the next draw. */
function randomView(bytes: number): Buffer {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += bytes;
  return pool.subarray(poolOffset - bytes, poolOffset);
}

const randomHex = (bytes: number): string => randomView(bytes).toString('hex');

// uuid's own monotonic state, kept here because passing `random` to `v7` bypasses it: ids
// drawn in the same millisecond still sort in the order they were made (run files rely on it).
const v7State = { msecs: -Infinity, seq: 0 };

function uuidv7(): string {
  const random = randomView(16);
  const now = Date.now();
  if (now > v7State.msecs) {
    v7State.msecs = now;
    v7State.seq = ((random[6] & 0x7f) << 24) | (random[7] << 16) | (random[8] << 8) | random[9];
  } else {
    v7State.seq = (v7State.seq + 1) | 0;
    if (v7State.seq === 0) v7State.msecs++;
  }
  return v7({ random, msecs: v7State.msecs, seq: v7State.seq });
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

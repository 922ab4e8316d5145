/** Who a key belongs to: keys are scoped to the organization and the caller (API.md section 5). */
export interface IdempotencyScope {
  orgId: string;
  /** `key:<apiKeyId>` or `user:<userId>` (`callerKey`). */
  caller: string;
  key: string;
}

/** A final response as it was sent, enough to send it again. */
export interface StoredResponse {
  status: number;
  body: unknown;
  /** Only headers that belong to the response itself (`Location`, `Content-Type`, `Retry-After`). */
  headers: Record<string, string>;
}

/** What Redis holds under a used key: a running request's claim, or the marker of a finished one. */
export type IdempotencyEntry = { state: 'running'; token: string; fingerprint: string } | { state: 'done'; fingerprint: string };

/** An entry as read back, with its exact stored form (for compare-and-set). */
export type HeldEntry = IdempotencyEntry & { value: string };

/** A finished request as PostgreSQL keeps it (the durable copy). */
export interface DurableRecord {
  fingerprint: string;
  response: StoredResponse;
  runId: string | null;
}

/** How long a finished response is replayed. */
export const RETENTION_MS = 24 * 60 * 60 * 1000;

/** Headers of a response that are part of what is replayed (lower-case names). */
export const REPLAYED_HEADERS = ['location', 'content-type', 'retry-after'] as const;

export function replayedHeaders(headers: Record<string, string | number | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value !== undefined && (REPLAYED_HEADERS as readonly string[]).includes(lower)) {
      const canonical = lower.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
      out[canonical] = Array.isArray(value) ? value.join(', ') : String(value);
    }
  }
  return out;
}

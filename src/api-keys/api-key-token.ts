import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PATTERN = /^ask_[0-9a-f]{48}$/;

export interface GeneratedApiKey {
  /** The plaintext, shown once. */
  token: string;
  hash: string;
  prefix: string;
}

export const hashApiKey = (token: string): string => createHash('sha256').update(token).digest('hex');

/** `ask_` + 48 lowercase hex characters from the CSPRNG (192 bits). */
export function generateApiKey(): GeneratedApiKey {
  const token = `ask_${randomBytes(24).toString('hex')}`;
  return { token, hash: hashApiKey(token), prefix: token.slice(0, 12) };
}

/** Constant-time comparison of two hex digests of equal length. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

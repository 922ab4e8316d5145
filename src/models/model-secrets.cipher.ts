import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

/**
 * AES-256-GCM for model provider API keys at rest. The stored form is
 * `v1:<iv>:<tag>:<ciphertext>` (base64url parts): a fresh 96-bit IV per value, and the
 * auth tag makes any tampering (or a different key) fail loudly instead of returning junk.
 */
export class ModelSecretsCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('The model secrets key must be 32 bytes.');
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key, iv, { authTagLength: TAG_BYTES });
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join(':');
  }

  /** Throws when the value is malformed, was tampered with, or was sealed with another key. */
  decrypt(sealed: string): string {
    const [version, iv, tag, body, ...rest] = sealed.split(':');
    if (version !== VERSION || iv === undefined || tag === undefined || body === undefined || rest.length > 0) {
      throw new Error('Not a sealed model secret.');
    }
    const decipher = createDecipheriv(ALGORITHM, this.key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

import { describe, expect, it } from 'vitest';
import { isPrefixedV7, newFileId, newRequestId, newRunId, newUuid } from './ids.js';

describe('ids', () => {
  it('issues distinct UUIDv7s that sort in the order they were made, across pool refills', () => {
    // 5,000 ids draw 80 KB from the 4 KiB pool (many refills), most within the same millisecond.
    const ids = Array.from({ length: 5000 }, () => newFileId());
    expect(ids.every((id) => isPrefixedV7(id, 'file_'))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('carries the current time in the UUIDv7 timestamp', () => {
    const before = Date.now();
    const uuid = newUuid();
    const ms = parseInt(uuid.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
    expect(isPrefixedV7(newRunId(), 'run_')).toBe(true);
  });

  it('issues distinct request ids of 24 hex digits', () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId());
    expect(ids.every((id) => /^req_[0-9a-f]{24}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

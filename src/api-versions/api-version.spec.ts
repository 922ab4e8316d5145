import { describe, expect, it } from 'vitest';
import { checkApiVersion, isAtLeast, isCalendarDate, SUPPORTED_API_VERSIONS } from './api-version.js';

describe('API version parsing', () => {
  it('supports exactly the two dated versions, oldest first', () => {
    expect(SUPPORTED_API_VERSIONS).toEqual(['2026-03-21', '2026-06-11']);
  });

  it.each(['2026-03-21', '2024-02-29', '2000-01-01', '1999-12-31', '0050-01-01', '0004-02-29', '0000-01-01'])('accepts the real date %s', (v) => {
    expect(isCalendarDate(v)).toBe(true);
  });

  it.each(['2026-02-30', '2023-02-29', '0001-02-29', '0099-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '2026-3-21', '26-03-21', '2026/03/21', '2026-03-21 ', ' 2026-03-21', '20260321', '2026-03-21T00:00:00Z', '', 'latest', '２０２６-03-21'])(
    'refuses %j as malformed',
    (v) => {
      expect(isCalendarDate(v)).toBe(false);
      expect(checkApiVersion(v)).toEqual({ ok: false, code: 'invalid_api_version' });
    },
  );

  it('tells a well-formed unknown version from a malformed one', () => {
    expect(checkApiVersion('2025-01-01')).toEqual({ ok: false, code: 'unsupported_api_version' });
    expect(checkApiVersion('0050-01-01')).toEqual({ ok: false, code: 'unsupported_api_version' });
    expect(checkApiVersion('2026-06-12')).toEqual({ ok: false, code: 'unsupported_api_version' });
    expect(checkApiVersion('2026-06-11')).toEqual({ ok: true, version: '2026-06-11' });
    expect(checkApiVersion('2026-03-21')).toEqual({ ok: true, version: '2026-03-21' });
  });

  it('orders versions by date', () => {
    expect(isAtLeast('2026-06-11', '2026-03-21')).toBe(true);
    expect(isAtLeast('2026-03-21', '2026-06-11')).toBe(false);
    expect(isAtLeast('2026-06-11', '2026-06-11')).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { transformResponse, VERSION_CHANGES, type VersionChange, type VersionedResponse } from './version-transforms.js';

const current = (): VersionedResponse => ({
  status: 201,
  headers: { Location: '/api/runs/run_1' },
  body: { object: 'run', id: 'run_1', status: 'pending' },
});

describe('version transforms', () => {
  it('answers the current shape to callers on the newest version', () => {
    expect(transformResponse('run.created', current(), '2026-06-11')).toEqual(current());
  });

  it('shapes a created run down to 200 {runId} for 2026-03-21, without Location', () => {
    expect(transformResponse('run.created', current(), '2026-03-21')).toEqual({ status: 200, headers: {}, body: { runId: 'run_1' } });
  });

  it('lists changes newest first, each dated with a supported version', () => {
    const dates = VERSION_CHANGES.map((c) => c.version);
    expect([...dates].sort().reverse()).toEqual(dates);
  });

  it('applies every later change in turn, newest first, and only for older callers', () => {
    const seen: string[] = [];
    const tag = (label: string) => (r: VersionedResponse): VersionedResponse => {
      seen.push(label);
      return { ...r, body: { ...(r.body as object), [label]: true } };
    };
    const changes: VersionChange[] = [
      { version: '2026-06-11', description: 'newest', down: { 'run.created': tag('undo-june') } },
      { version: '2026-03-21', description: 'older', down: { 'run.created': tag('undo-march') } },
    ];
    // A 2026-03-21 caller gets only the June change undone (March is its own version).
    expect(transformResponse('run.created', current(), '2026-03-21', changes).body).toMatchObject({ 'undo-june': true });
    expect(seen).toEqual(['undo-june']);
    seen.length = 0;
    expect(transformResponse('run.created', current(), '2026-06-11', changes)).toEqual(current());
    expect(seen).toEqual([]);
  });

  it('leaves a response untouched when a change does not concern its kind', () => {
    const changes: VersionChange[] = [{ version: '2026-06-11', description: 'other kind', down: {} }];
    expect(transformResponse('run.created', current(), '2026-03-21', changes)).toEqual(current());
  });
});

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runInContext } from '../context/request-context.js';
import { AppLogger, createPinoLogger } from './app-logger.js';

/** A logger writing JSON lines into an array. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createPinoLogger('info', sink), lines };
}

describe('structured logs', () => {
  it('carry a request’s ids: request id, traceparent, org, principal, end-user, run', () => {
    const { logger, lines } = capture();
    const principal = {
      kind: 'api_key' as const,
      userId: 'u1',
      apiKeyId: 'k1',
      orgId: 'o1',
      role: 'admin' as const,
      permissions: new Set<never>(),
      endUserId: 'eu_1',
      orgApiVersion: null,
    };
    runInContext({ requestId: 'req_1', traceparent: '00-abc-def-01', principal, runId: 'run_1' }, () => logger.info('in a request'));
    expect(lines[0]).toMatchObject({
      msg: 'in a request',
      requestId: 'req_1',
      traceparent: '00-abc-def-01',
      orgId: 'o1',
      principal: 'api_key:k1',
      endUserId: 'eu_1',
      runId: 'run_1',
    });
  });

  it('carry the request id on errors logged through Nest’s logger interface (the 500 path)', () => {
    const { logger, lines } = capture();
    const nest = new AppLogger(logger);
    runInContext({ requestId: 'req_500' }, () => nest.error(new RangeError('Maximum call stack size exceeded'), 'ProblemDetails'));
    expect(lines[0]).toMatchObject({ level: 'error', requestId: 'req_500', context: 'ProblemDetails' });
    expect(JSON.stringify(lines[0])).toContain('Maximum call stack size exceeded');
  });
});

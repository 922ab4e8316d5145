import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { ProblemDetailsFilter } from './problem-details.filter.js';
import { ProblemException } from './problem.exception.js';

/** Runs the filter on `exception` and returns what it wrote. */
function render(exception: unknown, path = '/api/things', { method = 'GET', routeMethods = [] as string[] } = {}) {
  const headers: Record<string, string> = {};
  const out = { status: 0, body: '' as string | undefined, headers };
  const req = { method, url: path, context: { requestId: 'req_test' } };
  const reply = {
    sent: false,
    raw: { headersSent: false },
    status: (s: number) => ((out.status = s), reply),
    headers: (h: Record<string, string>) => (Object.entries(h).forEach(([k, v]) => (headers[k.toLowerCase()] = v)), reply),
    send: (b?: Buffer | string) => ((out.body = b === undefined ? undefined : String(b)), reply),
  };
  const host = { getType: () => 'http', switchToHttp: () => ({ getRequest: () => req, getResponse: () => reply }) } as unknown as ArgumentsHost;
  // The router's answer: a route (with no path parameters) for each of `routeMethods`.
  const findRoute = ({ method: m }: { method: string }) => (routeMethods.includes(m) ? { params: {} } : null);
  const adapter = { httpAdapter: { getInstance: () => ({ findRoute }) } } as unknown as HttpAdapterHost;
  new ProblemDetailsFilter(adapter).catch(exception, host);
  return { ...out, json: JSON.parse(out.body ?? '{}') as Record<string, unknown> };
}

describe('ProblemDetailsFilter', () => {
  it('renders a ProblemException as RFC 9457 problem+json', () => {
    const out = render(new ProblemException('invalid_request', 'Bad header.', { param: 'X-Org-Id', headers: { 'X-Extra': '1' } }));
    expect(out.status).toBe(400);
    expect(out.headers['content-type']).toBe('application/problem+json');
    expect(out.headers['x-extra']).toBe('1');
    expect(out.json).toEqual({
      type: 'https://docs.appstrate.dev/errors/invalid-request',
      title: 'Invalid Request',
      status: 400,
      detail: 'Bad header.',
      instance: 'urn:appstrate:request:req_test',
      code: 'invalid_request',
      requestId: 'req_test',
      param: 'X-Org-Id',
    });
  });

  it('carries retryAfter in the body and the Retry-After header', () => {
    const out = render(new ProblemException('rate_limited', 'Slow down.', { retryAfter: 7 }));
    expect(out.json.retryAfter).toBe(7);
    expect(out.headers['retry-after']).toBe('7');
  });

  it('hides the internals of unexpected errors behind 500 internal_error', () => {
    const out = render(new Error('SELECT * FROM secrets WHERE password = hunter2'));
    expect(out.status).toBe(500);
    expect(out.json.code).toBe('internal_error');
    expect(out.body).not.toContain('hunter2');
    expect(out.body).not.toContain('SELECT');
    expect(out.body).not.toContain('at ');
    expect(render('a thrown string').status).toBe(500);
    expect(render(new HttpException('teapot internals', 500)).json.detail).not.toContain('teapot');
  });

  it('maps PostgreSQL unique violations to 409 and data exceptions to 400, without SQL', () => {
    const unique = render(Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: '23505' }));
    expect(unique.status).toBe(409);
    expect(unique.json.code).toBe('conflict');
    const data = render(Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }));
    expect(data.status).toBe(400);
    expect(data.json.code).toBe('invalid_request');
    expect(data.body).not.toContain('UTF8');
  });

  it('maps unreachable backing services to 503 with Retry-After', () => {
    const out = render(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    expect(out.status).toBe(503);
    expect(out.json.code).toBe('service_unavailable');
    expect(out.headers['retry-after']).toBeDefined();
    expect(out.body).not.toContain('5432');
  });

  it('maps Nest HTTP exceptions onto the code table', () => {
    expect(render(new BadRequestException('nope')).json.code).toBe('invalid_request');
    const unmatched = render(new NotFoundException('Cannot GET /api/nope'), '/api/nope');
    expect(unmatched.status).toBe(404);
    expect(unmatched.json.code).toBe('not_found');
  });

  it('answers a path known under other methods 405 with Allow, and one its own method answered not-found 404', () => {
    const wrong = render(new NotFoundException('Cannot POST /api/things'), '/api/things', { method: 'POST', routeMethods: ['GET', 'HEAD'] });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    const asset = render(new NotFoundException('Cannot GET /api/docs/x.js'), '/api/docs/x.js', { method: 'GET', routeMethods: ['GET', 'HEAD'] });
    expect(asset.status).toBe(404);
    expect(asset.headers.allow).toBeUndefined();
  });

  it('answers Fastify’s own client refusals with their status, and hides its server errors', () => {
    const refused = render(Object.assign(new Error('Unsupported Media Type: text/x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }));
    expect(refused.status).toBe(415);
    expect(refused.json).toMatchObject({ code: 'unsupported_media_type', detail: 'Unsupported Media Type: text/x' });
    const failed = render(Object.assign(new Error('serializer broke at /srv/app'), { code: 'FST_ERR_FAILED_ERROR_SERIALIZATION', statusCode: 500 }));
    expect(failed.status).toBe(500);
    expect(failed.body).not.toContain('/srv/app');
  });
});

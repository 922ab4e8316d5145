import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { currentContext, outsideRequests, runInContext, type RequestContext } from './request-context.js';

describe('request context', () => {
  let server: Server;
  let socket: Socket | undefined;
  afterEach(async () => {
    socket?.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** The context a connection's events run in, when it is opened by `open` inside a request. */
  async function contextOfEvents(open: (port: number) => Socket): Promise<RequestContext | undefined> {
    server = createServer((s) => s.end('hello'));
    await once(server.listen(0, '127.0.0.1'), 'listening');
    const { port } = server.address() as { port: number };
    socket = runInContext({ requestId: 'req_test' }, () => open(port));
    // An event listener runs in the context of the connection, not of the code that added it.
    return new Promise((resolve) => socket!.once('data', () => resolve(currentContext())));
  }

  it('leaves a connection opened inside a request with that request’s context in its events', async () => {
    expect(await contextOfEvents((port) => connect(port, '127.0.0.1'))).toEqual({ requestId: 'req_test' });
  });

  it('outsideRequests opens it with no context, so its events name no request', async () => {
    expect(await contextOfEvents((port) => outsideRequests(() => connect(port, '127.0.0.1')))).toBeUndefined();
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A promise the test settles by hand (see `release` in FakeReply). */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** What the fake answers to one request. */
export type FakeReply =
  /** A chat completion whose message content is `text` (or `JSON.stringify(json)`). */
  | {
      text?: string;
      json?: unknown;
      usage?: { prompt_tokens: number; completion_tokens: number };
      delayMs?: number;
      /** Answer only once this settles (lets a test hold a run `running` as long as it needs). */
      release?: Promise<unknown>;
    }
  /** An error answer in OpenAI's error shape. */
  | { status: number; message?: string; headers?: Record<string, string>; delayMs?: number }
  /** Never answers (until the client gives up or the server closes). */
  | { hang: true };

/** One request the fake received. */
export interface RecordedRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: ChatBody;
  receivedAt: number;
  /** Set when the client closed the connection before the fake answered. */
  abortedAt: number | null;
}

export interface ChatBody {
  model: string;
  messages: Array<{ role: string; content: string | Array<Record<string, unknown>> }>;
  response_format?: { type: string; json_schema?: { name: string; schema: unknown; strict?: boolean } };
  [key: string]: unknown;
}

type Script = FakeReply | ((request: RecordedRequest, index: number) => FakeReply);

/**
 * A small OpenAI-compatible `POST /v1/chat/completions` server on 127.0.0.1 (random port) for
 * tests: each test scripts the answers (`reply`, `enqueue`, `failTimes`, `hang`) and inspects
 * what the service sent (`requests`). One-shot replies queued with `enqueue` are used first,
 * then the default reply.
 */
export class FakeModelServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeReply[] = [];
  private fallback: Script = { text: 'ok' };
  private readonly open = new Set<ServerResponse>();
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeModelServer> {
    let fake!: FakeModelServer;
    const server = createServer((req, res) => void fake.handle(req, res));
    fake = new FakeModelServer(server);
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** The base URL a model configuration points at (`…/v1`). */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** The answer to every request not covered by `enqueue`. */
  reply(script: Script): this {
    this.fallback = script;
    return this;
  }

  /** One-shot answers, used in order before the default one. */
  enqueue(...replies: FakeReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** The next `n` requests fail with `status` (500 by default). */
  failTimes(n: number, status = 500): this {
    for (let i = 0; i < n; i++) this.queue.push({ status, message: `fake failure ${i + 1}` });
    return this;
  }

  /** Every request hangs. */
  hang(): this {
    return this.reply({ hang: true });
  }

  /** Forgets recorded requests and scripts; answers `ok` again. */
  reset(): this {
    this.requests.length = 0;
    this.queue.length = 0;
    this.fallback = { text: 'ok' };
    return this;
  }

  /** Requests whose body names this model (tests give each run a model of its own). */
  requestsFor(model: string): RecordedRequest[] {
    return this.requests.filter((r) => r.body.model === model);
  }

  /** Resolves once `predicate` holds over the recorded requests (checked on each new request or abort). */
  async waitFor(predicate: (requests: RecordedRequest[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.requests)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake model server: condition not met within ${timeoutMs} ms (${this.requests.length} requests)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
      return;
    }
    const recorded: RecordedRequest = {
      path: req.url,
      headers: req.headers,
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody,
      receivedAt: Date.now(),
      abortedAt: null,
    };
    const index = this.requests.push(recorded) - 1;
    this.open.add(res);
    res.on('close', () => {
      this.open.delete(res);
      if (!res.writableFinished) {
        recorded.abortedAt = Date.now();
        this.notify();
      }
    });
    this.notify();

    const script = this.queue.shift() ?? this.fallback;
    const reply = typeof script === 'function' ? script(recorded, index) : script;
    if ('hang' in reply) return;
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if ('release' in reply && reply.release) await reply.release.catch(() => undefined);
    if (res.destroyed) return;
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify({ error: { message: reply.message ?? `fake error ${reply.status}`, type: 'fake_error', code: null } }));
      return;
    }
    const content = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? 'ok');
    const usage = reply.usage ?? { prompt_tokens: 11, completion_tokens: 7 };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `chatcmpl-${index + 1}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: recorded.body.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      }),
    );
  }
}

import type { ServerResponse } from 'node:http';
import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OrgPrincipal } from '../auth/principal.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { withTimeout } from '../common/timeout.js';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import { RunEventsService, type RunEvent, type Subscription } from './run-events.service.js';
import { RunLifecycleService } from './run-lifecycle.service.js';
import type { RunLogEntry } from './run-log.presenter.js';
import { MAX_LOGS_PAGE, RunLogsService } from './run-logs.service.js';
import { TERMINAL_STATUSES, type Run, type RunStatus } from './run.entity.js';
import { presentRun, type RunResource } from './run.presenter.js';
import { RunsService } from './runs.service.js';

export const MAX_WAIT_SECONDS = 55;
/**
 * How often a waiting reader re-reads the run from PostgreSQL anyway. Events are the fast
 * path; this slow re-read only covers an event lost in transit (pub/sub keeps nothing).
 */
const SAFETY_REREAD_MS = 5_000;
/** How long a stream waits for Redis to confirm its subscription before answering 503. */
const SUBSCRIBE_TIMEOUT_MS = 3_000;

const redisUnavailable = () =>
  new ProblemException('service_unavailable', 'Live run events are temporarily unavailable. Please retry shortly.', { retryAfter: 1 });

/** Waits for Redis to confirm `subscription`, else stops it and answers 503. */
async function subscribedWithin(subscription: Subscription, ms: number): Promise<void> {
  try {
    await withTimeout(subscription.ready, ms);
  } catch {
    subscription.stop();
    throw redisUnavailable();
  }
}

/** pending < running < terminal: a stream never sends a state older than one it has sent. */
const rank = (status: RunStatus): number => (status === 'pending' ? 0 : status === 'running' ? 1 : 2);
const isTerminal = (status: RunStatus): boolean => TERMINAL_STATUSES.has(status);

/** `?wait=` of `GET /api/runs/{runId}`: absent → null; otherwise an integer 1..55 or a 400 naming `wait`. */
export function parseWait(value: unknown): number | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || !/^\d{1,2}$/.test(value) || Number(value) < 1 || Number(value) > MAX_WAIT_SECONDS) {
    throw new ProblemException('invalid_request', `wait must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}.`, { param: 'wait' });
  }
  return Number(value);
}

/** `Last-Event-ID`: the id of the last log entry the client has; anything else counts as none. */
function parseLastEventId(value: string | string[] | undefined): number {
  const raw = Array.isArray(value) ? value[0] : value;
  return raw !== undefined && /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : 0;
}

/**
 * Following a run as it executes: the Server-Sent Events stream and `?wait=`. Both subscribe
 * to the run's events *before* reading its state from PostgreSQL, so nothing that happens in
 * between is missed; duplicates are dropped by log id and by status order.
 *
 * On shutdown every open stream ends (an EventSource reconnects, to another instance, with
 * `Last-Event-ID`) and every wait answers with the run as it is, so the HTTP server can close.
 */
@Injectable()
export class RunStreamService implements BeforeApplicationShutdown {
  /** How to end each open stream and wait now. */
  private readonly open = new Set<() => void>();
  /** Set on shutdown: waits answer at once, streams end after what they have. */
  private closing = false;

  constructor(
    private readonly lifecycle: RunLifecycleService,
    private readonly logs: RunLogsService,
    private readonly events: RunEventsService,
    private readonly runs: RunsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * `GET /api/runs/{runId}` with `?wait=N`: answers once the run is terminal or N seconds
   * have passed, whichever comes first, with the run as it then is.
   */
  async get(caller: OrgPrincipal, runId: string, rawWait: unknown, res: ServerResponse): Promise<RunResource> {
    const wait = parseWait(rawWait);
    if (wait === null) return this.runs.get(caller, runId);
    const found = await this.lifecycle.findForCaller(caller, runId);
    if (isTerminal(found.status)) return this.present(found);

    let wake!: () => void;
    let awake = false;
    const woken = new Promise<void>((resolve) => (wake = resolve)).then(() => void (awake = true));
    // Armed before subscribing: while Redis is unreachable the wait still ends on time.
    const deadline = setTimeout(wake, wait * 1000);
    // The client went away: stop waiting (the answer is then simply not delivered).
    res.once('close', wake);
    this.open.add(wake);
    if (this.closing) wake();
    const subscription = this.events.subscribe(found.id, (event) => {
      if (event.type === 'status' && isTerminal(event.run.status)) wake();
    });
    const safety = setInterval(() => {
      this.lifecycle.find(found.id).then((run) => run && isTerminal(run.status) && wake(), () => undefined);
    }, SAFETY_REREAD_MS);
    try {
      // Without a subscription (Redis down) the re-reads still see the run finish.
      await Promise.race([subscription.ready.catch(() => undefined), woken]);
      if (!awake) {
        const current = await this.lifecycle.find(found.id);
        if (current && !isTerminal(current.status)) await woken;
      }
      return this.present((await this.lifecycle.find(found.id)) ?? found);
    } finally {
      clearTimeout(deadline);
      clearInterval(safety);
      res.off('close', wake);
      this.open.delete(wake);
      subscription.stop();
    }
  }

  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const end of this.open) end();
  }

  /**
   * `GET /api/runs/{runId}/events`: `status` (the Run), then the log so far (after
   * `Last-Event-ID`), then live `status` / `log` events, and `done` after the terminal status.
   * Refusals (404, …) are thrown before the first byte, as problem+json.
   */
  async stream(caller: OrgPrincipal, runId: string, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const res = reply.raw;
    const found = await this.lifecycle.findForCaller(caller, runId);
    const since = parseLastEventId(req.headers['last-event-id']);
    const buffered: RunEvent[] = [];
    let deliver: ((event: RunEvent) => void) | null = null;
    // The client may leave while the stream is set up: then nothing is started.
    let gone = false;
    const leave = () => (gone = true);
    res.once('close', leave);
    let unsubscribe: () => void;
    let run: Run;
    let initial: RunResource;
    let backlog: RunLogEntry[];
    try {
      const subscription = this.events.subscribe(found.id, (event) => (deliver ? deliver(event) : buffered.push(event)));
      await subscribedWithin(subscription, SUBSCRIBE_TIMEOUT_MS);
      unsubscribe = subscription.stop;
      try {
        run = (await this.lifecycle.find(found.id)) ?? found;
        initial = await this.present(run);
        backlog = await this.logsAfter(run, since);
      } catch (err) {
        unsubscribe();
        throw err;
      }
    } finally {
      res.off('close', leave);
    }
    if (gone) {
      unsubscribe();
      return;
    }

    // From here on the stream is written to the Node response directly, not through Fastify.
    reply.hijack();
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();

    let sentRank = -1;
    let lastLogId = since;
    let closed = false;
    let keepAlive: NodeJS.Timeout | undefined;
    let safety: NodeJS.Timeout | undefined;
    /** Chains work so events are written one at a time, in arrival order. */
    let queue: Promise<void> = Promise.resolve();

    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      clearInterval(safety);
      this.open.delete(close);
      unsubscribe();
      res.end();
    };
    this.open.add(close);
    const write = (chunk: string) => {
      if (!closed) res.write(chunk);
    };
    const sendLog = (log: RunLogEntry) => {
      if (log.id <= lastLogId) return;
      lastLogId = log.id;
      write(`id: ${log.id}\nevent: log\ndata: ${JSON.stringify(log)}\n\n`);
    };
    const sendStatus = async (resource: RunResource) => {
      if (rank(resource.status) <= sentRank) return;
      if (isTerminal(resource.status)) {
        // Every entry is committed before the terminal status: read what pub/sub may not have delivered yet.
        (await this.logsAfter(run, lastLogId)).forEach(sendLog);
      }
      sentRank = rank(resource.status);
      write(`event: status\ndata: ${JSON.stringify(resource)}\n\n`);
      if (isTerminal(resource.status)) {
        write(`event: done\ndata: ${JSON.stringify(resource)}\n\n`);
        close();
      }
    };
    const handle = (event: RunEvent) => {
      queue = queue
        .then(() => {
          if (closed) return;
          if (event.type === 'log') sendLog(event.log);
          else return sendStatus(event.run);
        })
        .catch(() => close());
    };

    // `close` on the response: the client disconnected (a request's own `close` fires as soon as its body is read).
    res.once('close', close);
    sentRank = rank(initial.status);
    write(`event: status\ndata: ${JSON.stringify(initial)}\n\n`);
    backlog.forEach(sendLog);
    if (isTerminal(initial.status)) {
      write(`event: done\ndata: ${JSON.stringify(initial)}\n\n`);
      close();
      return;
    }
    if (this.closing) {
      // Set up while the process shuts down: the client reconnects elsewhere from here.
      close();
      return;
    }
    deliver = handle;
    buffered.forEach(handle);
    // Comment lines keep proxies from closing a stream that is idle while the model works.
    keepAlive = setInterval(() => write(': keep-alive\n\n'), this.config.runs.eventsKeepAliveSeconds * 1000);
    safety = setInterval(() => {
      queue = queue
        .then(async () => {
          const current = await this.lifecycle.find(run.id);
          if (current && isTerminal(current.status) && !closed) await sendStatus(await this.present(current));
        })
        .catch(() => undefined);
    }, SAFETY_REREAD_MS);
  }

  private async present(run: Run): Promise<RunResource> {
    return presentRun(run, await this.lifecycle.filesOf(run));
  }

  /** Every entry after `since`, oldest first, read a page at a time. */
  private async logsAfter(run: Run, since: number): Promise<RunLogEntry[]> {
    const all: RunLogEntry[] = [];
    for (let cursor = since; ; ) {
      const page = await this.logs.list(run, { since: cursor, limit: MAX_LOGS_PAGE });
      all.push(...page.data);
      if (!page.hasMore) return all;
      cursor = page.data.at(-1)!.id;
    }
  }
}

import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { outsideRequests } from '../common/context/request-context.js';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import { createRedis, InjectRedis } from '../redis/redis.module.js';
import type { RunLogEntry } from './run-log.presenter.js';
import type { RunResource } from './run.presenter.js';

/** What is fanned out about a run: its new state, or a new log entry (a message carries one or more, in order). */
export type RunEvent = { type: 'status'; run: RunResource } | { type: 'log'; log: RunLogEntry };

type Listener = (message: string) => void;

/** A live subscription: `ready` once Redis has confirmed it; `stop` ends it, confirmed or not. */
export interface Subscription {
  ready: Promise<void>;
  stop: () => void;
}

const CANCEL_CHANNEL = 'agent-runs:cancel';
const runChannel = (runId: string): string => `agent-runs:run:${runId}`;

/**
 * Run events over Redis pub/sub, so whichever process executes a run, any API process can
 * stream it. Publishing uses the shared command connection; each process holds one subscriber
 * connection (opened on first use) shared by every listener, with per-channel reference counts.
 *
 * Pub/sub is fire-and-forget: readers always start from PostgreSQL (the source of truth) and
 * use events only to learn about changes sooner.
 */
@Injectable()
export class RunEventsService implements OnApplicationShutdown {
  private readonly logger = new Logger(RunEventsService.name);
  private subscriber: Redis | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Resolves when the channel's SUBSCRIBE is acknowledged. */
  private readonly subscribed = new Map<string, Promise<unknown>>();

  constructor(
    @InjectRedis() private readonly redis: Redis,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Best effort, and not awaited by writers: one connection sends commands in order, so events
   * still arrive in the order they were published; a lost event only delays readers until
   * their next re-read.
   */
  publish(runId: string, events: RunEvent[]): void {
    this.redis.publish(runChannel(runId), JSON.stringify(events)).catch((err: Error) => {
      this.logger.warn({ msg: 'run event not published', runId, err: err.message });
    });
  }

  /**
   * Calls `listener` with every event of the run, in order, until `stop` is called (at any
   * time: while Redis is unreachable the confirmation may never come). Events published after
   * `ready` resolves are seen.
   */
  subscribe(runId: string, listener: (event: RunEvent) => void): Subscription {
    return this.listen(runChannel(runId), (message) => (JSON.parse(message) as RunEvent[]).forEach(listener));
  }

  /** Asks whichever worker holds the run to abort it. */
  async publishCancel(runId: string): Promise<void> {
    await this.redis.publish(CANCEL_CHANNEL, runId).catch((err: Error) => {
      this.logger.warn({ msg: 'cancel signal not published', runId, err: err.message });
    });
  }

  /** Workers listen here for runs to abort (one channel for all runs: a worker ignores runs it does not hold). */
  onCancel(listener: (runId: string) => void): Subscription {
    return this.listen(CANCEL_CHANNEL, listener);
  }

  async onApplicationShutdown(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = null;
    this.listeners.clear();
    this.subscribed.clear();
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }

  private listen(channel: string, listener: Listener): Subscription {
    const sub = this.connection();
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.subscribed.set(channel, sub.subscribe(channel));
    }
    set.add(listener);
    let active = true;
    const stop = () => {
      if (!active) return;
      active = false;
      const current = this.listeners.get(channel);
      current?.delete(listener);
      if (current && current.size === 0) {
        this.listeners.delete(channel);
        this.subscribed.delete(channel);
        void sub.unsubscribe(channel).catch(() => undefined);
      }
    };
    const ready = this.subscribed.get(channel)!.then(
      () => undefined,
      (err: unknown) => {
        stop();
        throw err;
      },
    );
    // A caller that stopped early may never look at `ready`: its failure is not unhandled.
    ready.catch(() => undefined);
    return { ready, stop };
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    // A subscriber connection keeps retrying for ever: it must come back after a Redis blip.
    // Created by the first stream's request, it must not log with that request's ids.
    const sub = outsideRequests(() => createRedis(this.config.redis.url, { maxRetriesPerRequest: null }));
    sub.on('message', (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) {
        try {
          listener(message);
        } catch (err) {
          this.logger.error({ msg: 'run event listener failed', channel, err: (err as Error).message });
        }
      }
    });
    sub.on('error', (err: Error) => this.logger.warn({ msg: 'run events subscriber error', err: err.message }));
    this.subscriber = sub;
    return sub;
  }
}

/** What `armShutdownDeadline` listens on: the process, or a stand-in in tests. */
export interface SignalSource {
  once(signal: NodeJS.Signals, listener: () => void): unknown;
}

export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Bounds a graceful shutdown. Nest closes the app on SIGTERM/SIGINT and waits for every
 * shutdown hook; one that never settles would keep the process alive until the orchestrator
 * kills it. One is known: BullMQ 6.7 waits for its blocking Redis connection to report its end,
 * which never comes when the worker closes while that connection waits to reconnect (just
 * after a Redis outage; taskforcesh/bullmq#4656, open). `onExpire` runs once, `timeoutMs` after the first signal, if the
 * process is still there; the timer does not keep it alive.
 */
export function armShutdownDeadline(timeoutMs: number, onExpire: () => void, source: SignalSource = process): void {
  let armed = false;
  const arm = () => {
    if (armed) return;
    armed = true;
    setTimeout(onExpire, timeoutMs).unref();
  };
  for (const signal of SHUTDOWN_SIGNALS) source.once(signal, arm);
}

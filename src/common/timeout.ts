/**
 * `promise`, or a rejection with `onTimeout()` once `ms` have passed: for calls to a dependency
 * that may hang while it is unreachable (ioredis queues commands until it reconnects). The
 * timer is cleared either way and never keeps the process alive.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error = () => new Error(`timed out after ${ms} ms`),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms).unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Runs `task` every `intervalMs`, lengthened once by a random amount below `jitterMs` so that
 * processes doing the same housekeeping do not run in lockstep. The timer never keeps the
 * process alive; stop it with `clearInterval`.
 */
export function repeat(task: () => void, intervalMs: number, jitterMs = 0): NodeJS.Timeout {
  return setInterval(task, intervalMs + Math.floor(Math.random() * jitterMs)).unref();
}

import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { armShutdownDeadline } from './shutdown-deadline.js';

describe('armShutdownDeadline', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('calls onExpire once, the timeout after the first signal', () => {
    const source = new EventEmitter();
    const onExpire = vi.fn();
    armShutdownDeadline(5_000, onExpire, source);
    vi.advanceTimersByTime(60_000);
    expect(onExpire).not.toHaveBeenCalled(); // no signal, no deadline

    source.emit('SIGTERM');
    vi.advanceTimersByTime(4_999);
    expect(onExpire).not.toHaveBeenCalled();
    source.emit('SIGINT'); // a second signal does not restart or double it
    vi.advanceTimersByTime(1);
    expect(onExpire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60_000);
    expect(onExpire).toHaveBeenCalledTimes(1);
  });

  it('listens for SIGINT too', () => {
    const source = new EventEmitter();
    const onExpire = vi.fn();
    armShutdownDeadline(1_000, onExpire, source);
    source.emit('SIGINT');
    vi.advanceTimersByTime(1_000);
    expect(onExpire).toHaveBeenCalledTimes(1);
  });
});

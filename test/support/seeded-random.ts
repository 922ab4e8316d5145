/**
 * A small seeded generator (mulberry32) for tests that generate inputs: the same seed gives the
 * same inputs on every run, so a failure can be replayed.
 */
export function seededRandom(seed: number): { next: () => number; pick: <T>(items: readonly T[]) => T } {
  let state = seed | 0;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: (items) => items[Math.floor(next() * items.length)]! };
}

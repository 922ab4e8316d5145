import { METHODS } from 'node:http';
import type { Application } from 'express';
import { match, type MatchFunction } from 'path-to-regexp';

interface RouteEntry {
  matches: MatchFunction<object>;
  methods: string[];
}

/**
 * Which methods the registered routes accept for a path, so a known path with the wrong
 * method answers 405 with `Allow` instead of 404. Built once, after all routes exist.
 */
export class RouteTable {
  private entries: RouteEntry[] | null = null;

  constructor(private readonly app: Application) {}

  allowedMethods(path: string): string[] {
    const allowed = new Set<string>();
    for (const entry of this.load()) if (entry.matches(path)) entry.methods.forEach((m) => allowed.add(m));
    return [...allowed].sort();
  }

  private load(): RouteEntry[] {
    if (this.entries) return this.entries;
    const stack = (this.app as unknown as { router?: { stack: RouterLayer[] } }).router?.stack ?? [];
    this.entries = stack
      .filter((layer) => layer.route && typeof layer.route.path === 'string')
      // A route accepting every method is a catch-all (Nest's not-found handler on excluded
      // paths like /health, the Better Auth mount), not an endpoint that defines what is allowed.
      .filter((layer) => !METHODS.every((m) => layer.route!.methods[m.toLowerCase()]))
      .map((layer) => {
        const route = layer.route!;
        const methods = Object.keys(route.methods)
          .filter((m) => m !== '_all')
          .map((m) => m.toUpperCase());
        if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
        return { matches: match(route.path, { decode: false }), methods };
      })
      .filter((e) => e.methods.length > 0);
    return this.entries;
  }
}

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

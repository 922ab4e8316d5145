import type { FastifyInstance } from 'fastify';

/** The methods an endpoint can declare (HEAD comes with each GET). */
const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];

/**
 * Which methods the registered routes accept for a path, so that a known path with the wrong
 * method answers 405 with `Allow` instead of 404. Asked when a request ended up not found: the
 * router had no route for it (so catch-alls like Better Auth's mount never count), or a route
 * of its own method answered not-found itself (a static asset).
 */
export function allowedMethods(fastify: FastifyInstance, path: string): string[] {
  return METHODS.filter((method) => {
    const route = fastify.findRoute({ method, url: path });
    // The router lets a parameter match an empty segment (`/api/runs//cancel`); no route takes one.
    return route !== null && Object.entries(route.params as Record<string, string>).every(([name, value]) => name === '*' || value !== '');
  });
}

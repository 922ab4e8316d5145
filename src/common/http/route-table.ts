import type { FastifyInstance } from 'fastify';

/** The methods an endpoint can declare (HEAD comes with each GET). */
const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];

/**
 * Which methods the registered routes accept for a path, so that a known path with the wrong
 * method answers 405 with `Allow` instead of 404. Asked only when the router found no route
 * for the request, so catch-all routes (Better Auth's mount) never reach here.
 */
export function allowedMethods(fastify: FastifyInstance, path: string): string[] {
  return METHODS.filter((method) => fastify.findRoute({ method, url: path }) !== null);
}

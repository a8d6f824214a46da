import type { Request } from 'express';

/**
 * The request path as the client sent it, without the query string. `originalUrl` is used
 * because Express rewrites `req.url`/`req.path` relative to where a middleware is mounted.
 */
export function requestPath(req: Request): string {
  const url = req.originalUrl || req.url;
  const queryStart = url.indexOf('?');
  return queryStart === -1 ? url : url.slice(0, queryStart);
}

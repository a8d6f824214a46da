import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Response } from 'express';

/**
 * Hand-written static files (HTML, JS modules, CSS) served from the source tree. `tsc` copies no
 * non-TS files into dist/, so the folder is found next to the compiled file if something copied it
 * there, else at the same path under the project root (dist/apps/api/x → apps/api/x).
 */
export function resolveAssetDir(compiledDir: string, relativeToRoot: string): string {
  const beside = path.join(compiledDir, path.basename(relativeToRoot));
  if (existsSync(beside) && statSync(beside).isDirectory()) return beside;
  let dir = compiledDir;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, relativeToRoot);
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    dir = path.dirname(dir);
  }
  // Not found: the pages answer 404 rather than the API failing to start.
  return beside;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Only flat, plain names: no path traversal is even expressible. */
const SAFE_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

/** Pages: no inline script or style, nothing from other origins, not framed, no referrer (URLs may hold link tokens). */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function setPageHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
}

export class StaticFiles {
  private readonly cache = new Map<string, Buffer>();

  constructor(
    readonly dir: string,
    /** Re-read files on every request (development); otherwise read once. */
    private readonly live = process.env.NODE_ENV !== 'production',
  ) {}

  read(name: string): Buffer | null {
    if (!SAFE_NAME.test(name)) return null;
    const cached = this.live ? undefined : this.cache.get(name);
    if (cached) return cached;
    const file = path.join(this.dir, name);
    if (!existsSync(file)) return null;
    const data = readFileSync(file);
    if (!this.live) this.cache.set(name, data);
    return data;
  }

  /** Sends the file, or a plain 404. `cache`: what `Cache-Control` to send. */
  send(res: Response, name: string, cache = 'no-cache'): void {
    const data = this.read(name);
    if (!data) {
      res.status(404).type('text/plain').send('Not found');
      return;
    }
    const type = TYPES[path.extname(name)] ?? 'application/octet-stream';
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', cache);
    if (type.startsWith('text/html')) setPageHeaders(res);
    res.status(200).type(type).send(data);
  }
}

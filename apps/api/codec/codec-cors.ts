import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the Temporal UI sends to a codec endpoint: JSON, the namespace, and (pass access token) a Bearer token. */
export const CODEC_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'X-Namespace'] as const;

/** The dev server UI's origins: the default when CODEC_CORS_ORIGINS is unset. */
export function codecCorsOrigins(cfg: { codecCorsOrigins?: readonly string[]; temporalUiPort: number }): string[] {
  return cfg.codecCorsOrigins ? [...cfg.codecCorsOrigins] : [`http://localhost:${cfg.temporalUiPort}`, `http://127.0.0.1:${cfg.temporalUiPort}`];
}

/**
 * CORS for the codec routes only (the rest of the API is not meant to be called from other
 * origins' pages): an allowed origin gets its own origin back, with credentials (the UI may be set
 * to send cookies), and a preflight is answered here with 204. Other origins get no CORS header,
 * so their browsers keep the answer from them. Plain Node types, so that the API (express) and the
 * dev UI codec of `npm start` (node:http) share it.
 */
export function codecCors(origins: readonly string[]) {
  const allowed = new Set(origins);
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      if (preflight) {
        res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
        res.setHeader('Access-Control-Allow-Headers', CODEC_REQUEST_HEADERS.join(', '));
        res.setHeader('Access-Control-Max-Age', '600');
        // The UI on localhost calling 127.0.0.1 is loopback to loopback, but a browser may still ask.
        if (req.headers['access-control-request-private-network'] === 'true') res.setHeader('Access-Control-Allow-Private-Network', 'true');
      }
    }
    if (preflight) {
      res.statusCode = 204;
      res.setHeader('Content-Length', '0');
      res.end();
      return;
    }
    next();
  };
}

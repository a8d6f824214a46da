import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeyRing } from '../../../libs/crypto/key-ring';
import { ApiError } from '../common/api-error';
import { OperatorCodec } from './codec-protocol';
import { codecCors } from './codec-cors';

/**
 * The codec the Temporal UI of `npm start` calls (`temporal server start-dev --ui-codec-endpoint`).
 * The dev server's UI cannot send an API key, so this one asks for none; in exchange it exists only
 * under `npm start` (scripts/start.ts starts it, the API never does), listens on 127.0.0.1 only —
 * where the dev Temporal server itself already answers anyone without credentials — and decodes
 * exactly like the API's operator codec: with every credential redacted. The API's `/codec/*`
 * keeps requiring an operator credential.
 */
export interface DevUiCodec {
  /** What to pass as `--ui-codec-endpoint`. */
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'payload_too_large', `Request bodies are limited to ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

async function answer(codec: OperatorCodec, req: http.IncomingMessage): Promise<unknown> {
  // Only the last path segment counts (Temporal's codec protocol), so any prefix works.
  const operation = /\/(encode|decode)\/?$/.exec(new URL(req.url ?? '/', 'http://codec').pathname)?.[1];
  if (req.method !== 'POST' || !operation) throw new ApiError(404, 'not_found', 'POST …/encode or …/decode');
  const text = await readBody(req);
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw ApiError.badRequest('invalid_json', 'Request body is not valid JSON');
  }
  return operation === 'encode' ? codec.encode(body) : codec.decode(body);
}

export async function startDevUiCodec(opts: { payloadCodecKeys: string; corsOrigins: readonly string[]; port?: number }): Promise<DevUiCodec> {
  const codec = new OperatorCodec(new KeyRing(opts.payloadCodecKeys));
  const cors = codecCors(opts.corsOrigins);
  let hosts = new Set<string>();
  const server = http.createServer((req, res) => {
    // A page of another site that rebinds its DNS name to 127.0.0.1 is same-origin to itself, so
    // CORS would not stop it; the Host header it must send still names its own site.
    if (!hosts.has(req.headers.host ?? '')) {
      send(res, 403, { error: { code: 'forbidden', message: 'This codec answers requests to 127.0.0.1 or localhost only' } });
      return;
    }
    cors(req, res, () => {
      answer(codec, req).then(
        (body) => send(res, 200, body),
        (error: unknown) => {
          if (error instanceof ApiError) send(res, error.getStatus(), error.getResponse());
          else send(res, 500, { error: { code: 'internal_error', message: 'codec failed' } });
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  hosts = new Set([`${LOOPBACK}:${port}`, `localhost:${port}`]);
  return {
    url: `http://${LOOPBACK}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A webhook receiver for tests: records every request, answers per path (default 200). */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TEST_PEER_HOST } from './test-network';

export interface Received {
  path: string;
  headers: Record<string, string>;
  raw: string;
  body: any;
  answered: number;
  /**
   * The receiver had already accepted (answered 2xx) a delivery with this `webhook-id` at this
   * path: a receiver does the work of an event once and answers 2xx to the repeats (a retry whose
   * answer was lost, a redelivery, a replay), which is what this one does.
   */
  duplicate: boolean;
}

/** A full answer: status, headers and body (a redirect, a JSON document, an error page). */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * An HTTP receiver on the tests' allow-listed loopback address (test-network.ts) unless told
 * another host: one path per endpoint; a path answers what `answer` says (a status, default 200,
 * or a full Answer).
 */
export class Receiver {
  readonly requests: Received[] = [];
  readonly answer = new Map<string, () => number | Answer>();
  /** `path webhook-id` of every delivery accepted (2xx), to tell repeats apart. */
  private readonly accepted = new Set<string>();
  private server?: http.Server;
  port = 0;

  constructor(readonly host: string = TEST_PEER_HOST) {}

  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const path = (req.url ?? '/').split('?')[0];
        const webhookId = String(req.headers['webhook-id'] ?? '');
        const seen = webhookId !== '' && this.accepted.has(`${path} ${webhookId}`);
        const given = this.answer.get(path)?.() ?? 200;
        const full: Answer = typeof given === 'number' ? { status: given } : given;
        const answered = full.status;
        let body: any;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        if (answered >= 200 && answered < 300 && webhookId) this.accepted.add(`${path} ${webhookId}`);
        this.requests.push({ path, headers: req.headers as Record<string, string>, raw, body, answered, duplicate: seen && answered < 300 });
        res
          .writeHead(answered, { 'content-type': 'text/plain', ...full.headers })
          .end(full.body ?? (answered < 300 ? 'ok' : 'receiver is down'));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, this.host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}${path}`;
  }

  /** Requests to `path` about one integration (integrated-account events). */
  about(path: string, integrationId: string, event?: string): Received[] {
    return this.requests.filter((r) => r.path === path && r.body?.payload?.integrated_account?.id === integrationId && (!event || r.body.event === event));
  }

  /** The events a receiver at `path` processed: each accepted `webhook-id` once, repeats left out. */
  processed(path: string): Received[] {
    return this.requests.filter((r) => r.path === path && r.answered >= 200 && r.answered < 300 && !r.duplicate);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }
}


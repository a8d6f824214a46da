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
        const given = this.answer.get(path)?.() ?? 200;
        const full: Answer = typeof given === 'number' ? { status: given } : given;
        const answered = full.status;
        let body: any;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        this.requests.push({ path, headers: req.headers as Record<string, string>, raw, body, answered });
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

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }
}


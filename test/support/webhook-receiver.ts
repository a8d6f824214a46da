/** A webhook receiver for tests: records every request, answers per path (default 200). */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: Record<string, string>;
  raw: string;
  body: any;
  answered: number;
}

/** An HTTP receiver on 127.0.0.1: one path per endpoint; a path answers what `answer` says (default 200). */
export class Receiver {
  readonly requests: Received[] = [];
  readonly answer = new Map<string, () => number>();
  private server?: http.Server;
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const path = (req.url ?? '/').split('?')[0];
        const answered = this.answer.get(path)?.() ?? 200;
        let body: any;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        this.requests.push({ path, headers: req.headers as Record<string, string>, raw, body, answered });
        res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered < 300 ? 'ok' : 'receiver is down');
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
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


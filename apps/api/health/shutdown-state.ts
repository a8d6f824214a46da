import { Injectable } from '@nestjs/common';

/**
 * Whether the API is stopping. Set first thing on SIGTERM/SIGINT (see graceful-stop.ts), so that
 * `/ready` answers 503 while the API still serves: a load balancer or Kubernetes takes the
 * instance out of rotation before it stops accepting connections.
 */
@Injectable()
export class ShutdownState {
  private since: Date | null = null;

  begin(): void {
    this.since ??= new Date();
  }

  get stopping(): boolean {
    return this.since !== null;
  }
}

import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../config/config';
import type { KeyRing } from '../crypto/key-ring';
import { connectClient, temporalAddress } from '../temporal/connect';
import { createDataConverter } from '../temporal/encryption-codec';
import { APP_CONFIG, CODEC_KEY_RING } from './tokens';

export const TEMPORAL_CONNECTION = Symbol('TEMPORAL_CONNECTION');

@Injectable()
class ConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(TEMPORAL_CONNECTION) private readonly connection: Connection) {}
  async onApplicationShutdown(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

/**
 * The Temporal client of a process, with the same payload codec as the worker, so everything it
 * sends is encrypted. The API starts, signals and updates workflows with it; in the worker,
 * activities use it to start or signal other workflows (refresh after new credentials, re-sync).
 */
@Global()
@Module({
  providers: [
    { provide: TEMPORAL_CONNECTION, inject: [APP_CONFIG], useFactory: (cfg: AppConfig) => connectClient({ address: temporalAddress(cfg), apiKey: cfg.temporalApiKey }) },
    {
      provide: Client,
      inject: [TEMPORAL_CONNECTION, APP_CONFIG, CODEC_KEY_RING],
      useFactory: (connection: Connection, cfg: AppConfig, ring: KeyRing) =>
        new Client({ connection, namespace: cfg.temporalNamespace, dataConverter: createDataConverter(ring) }),
    },
    ConnectionCloser,
  ],
  exports: [Client, TEMPORAL_CONNECTION],
})
export class TemporalClientModule {}

import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../config/config';
import type { KeyRing } from '../crypto/key-ring';
import { connectClient, temporalAddress } from '../temporal/connect';
import { EncryptionCodec } from '../temporal/encryption-codec';
import { APP_CONFIG, CODEC_KEY_RING } from './tokens';

export const WORKER_TEMPORAL_CONNECTION = Symbol('WORKER_TEMPORAL_CONNECTION');

@Injectable()
class ConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(WORKER_TEMPORAL_CONNECTION) private readonly connection: Connection) {}
  async onApplicationShutdown(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

/**
 * A Temporal client for activities that start or signal other workflows (e.g. the refresh workflow
 * after new credentials, a re-sync after a reauthorization). Same payload codec as everything else.
 */
@Global()
@Module({
  providers: [
    { provide: WORKER_TEMPORAL_CONNECTION, inject: [APP_CONFIG], useFactory: (cfg: AppConfig) => connectClient(temporalAddress(cfg)) },
    {
      provide: Client,
      inject: [WORKER_TEMPORAL_CONNECTION, APP_CONFIG, CODEC_KEY_RING],
      useFactory: (connection: Connection, cfg: AppConfig, ring: KeyRing) =>
        new Client({ connection, namespace: cfg.temporalNamespace, dataConverter: { payloadCodecs: [new EncryptionCodec(ring)] } }),
    },
    ConnectionCloser,
  ],
  exports: [Client],
})
export class WorkerTemporalClientModule {}

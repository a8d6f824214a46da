import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../../../libs/config/config';
import type { KeyRing } from '../../../libs/crypto/key-ring';
import { APP_CONFIG, CODEC_KEY_RING } from '../../../libs/nest/tokens';
import { connectClient, temporalAddress } from '../../../libs/temporal/connect';
import { EncryptionCodec } from '../../../libs/temporal/encryption-codec';

export const TEMPORAL_CONNECTION = Symbol('TEMPORAL_CONNECTION');

/** The API's Temporal client: same payload codec as the worker, so what it sends is encrypted. */
@Injectable()
export class TemporalConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(TEMPORAL_CONNECTION) private readonly connection: Connection) {}
  async onApplicationShutdown(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

@Global()
@Module({
  providers: [
    {
      provide: TEMPORAL_CONNECTION,
      inject: [APP_CONFIG],
      useFactory: (cfg: AppConfig) => connectClient(temporalAddress(cfg)),
    },
    {
      provide: Client,
      inject: [TEMPORAL_CONNECTION, APP_CONFIG, CODEC_KEY_RING],
      useFactory: (connection: Connection, cfg: AppConfig, ring: KeyRing) =>
        new Client({ connection, namespace: cfg.temporalNamespace, dataConverter: { payloadCodecs: [new EncryptionCodec(ring)] } }),
    },
    TemporalConnectionCloser,
  ],
  exports: [Client, TEMPORAL_CONNECTION],
})
export class TemporalModule {}

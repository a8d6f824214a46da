import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { KeyRing, resolveKeySpecs } from '../crypto/key-ring';
import { ProviderRegistry } from '../providers/provider-registry';
import { APP_CONFIG, CODEC_KEY_RING, CREDENTIALS_KEY_RING } from './tokens';

/** Process-wide configuration and key rings, resolved once at start. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    const keys = resolveKeySpecs(config);
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: CREDENTIALS_KEY_RING, useValue: new KeyRing(keys.credentialsKeys) },
        { provide: CODEC_KEY_RING, useValue: new KeyRing(keys.payloadCodecKeys) },
        ProviderRegistry,
      ],
      exports: [APP_CONFIG, CREDENTIALS_KEY_RING, CODEC_KEY_RING, ProviderRegistry],
    };
  }
}

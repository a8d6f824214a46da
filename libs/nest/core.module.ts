import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/config';
import { APP_CONFIG_KEY, appConfigModule, type ConfigRoot } from '../config/config.module';
import { type DevKeys, KeyRing, resolveKeySpecs } from '../crypto/key-ring';
import { createProcessEgress } from '../providers/provider-egress';
import { ProviderRegistry } from '../providers/provider-registry';
import { APP_CONFIG, CODEC_KEY_RING, CREDENTIALS_KEY_RING, EGRESS } from './tokens';

/** The key specs in force (configured, or the generated dev keys), resolved once for both rings. */
const KEY_SPECS = Symbol('KEY_SPECS');

/**
 * Process-wide configuration and key rings, resolved once at start. The settings come from
 * `@nestjs/config` (global ConfigService); APP_CONFIG is the same typed object, so providers
 * inject `@Inject(APP_CONFIG) cfg: AppConfig` without knowing where it came from.
 *
 * `config`: the AppConfig the process validated with loadConfig() before building its modules
 * (main.ts needs the port and log settings before Nest exists). Without it, the ConfigModule
 * validates the environment itself.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config?: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [appConfigModule(config)],
      providers: [
        { provide: APP_CONFIG, inject: [ConfigService], useFactory: (settings: ConfigService<ConfigRoot, true>) => settings.get(APP_CONFIG_KEY, { infer: true }) },
        { provide: KEY_SPECS, inject: [APP_CONFIG], useFactory: (cfg: AppConfig): DevKeys => resolveKeySpecs(cfg) },
        { provide: CREDENTIALS_KEY_RING, inject: [KEY_SPECS], useFactory: (keys: DevKeys) => new KeyRing(keys.credentialsKeys) },
        { provide: CODEC_KEY_RING, inject: [KEY_SPECS], useFactory: (keys: DevKeys) => new KeyRing(keys.payloadCodecKeys) },
        // One set of egress policies per process (API: URL checks at PUT/POST; worker: every call).
        { provide: EGRESS, inject: [APP_CONFIG], useFactory: (cfg: AppConfig) => createProcessEgress(cfg) },
        ProviderRegistry,
      ],
      exports: [APP_CONFIG, CREDENTIALS_KEY_RING, CODEC_KEY_RING, EGRESS, ProviderRegistry],
    };
  }
}

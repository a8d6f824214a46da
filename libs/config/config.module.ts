import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { parseAppConfig, type AppConfig } from './config';

/** Shape of the ConfigService's store: the typed settings under one key, nothing raw. */
export interface ConfigRoot {
  app: AppConfig;
}

/** Typed ConfigService: `config.get('app', { infer: true })` is the AppConfig. */
export const APP_CONFIG_KEY = 'app' satisfies keyof ConfigRoot;

/**
 * `@nestjs/config` fed by the settings schema. Its `validate` turns the environment into the typed
 * AppConfig (every problem at once, as a ConfigError), unless the process already did that at start
 * with loadConfig() and hands the result in: then that very object is what providers get.
 */
export function appConfigModule(validatedAtStart?: AppConfig): Promise<DynamicModule> {
  return ConfigModule.forRoot({
    isGlobal: true,
    // Settings come from the environment only: a stray .env file must not change a deployment.
    ignoreEnvFile: true,
    // ConfigService answers from the validated settings, never from raw process.env.
    skipProcessEnv: true,
    validate: (env): ConfigRoot => ({ app: validatedAtStart ?? parseAppConfig(env as Record<string, string | undefined>) }),
  });
}

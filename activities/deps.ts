import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../libs/config/config';
import type { KeyRing } from '../libs/crypto/key-ring';
import type { ProcessEgress } from '../libs/providers/provider-egress';
import type { ProviderRegistry } from '../libs/providers/provider-registry';
import type { ResyncStarter } from '../libs/resync/resync-starter';

/** Where activities write their own lines: the worker's logger, with the activity group as context. */
export interface ActivityLogger {
  log(message: string, context?: string): void;
  debug(message: string, context?: string): void;
}

/**
 * Everything the activities work with, built once by the worker. Each activity group takes only the
 * part it needs (`Pick<ActivityDeps, ...>`), so a test can build one group from a few values.
 */
export interface ActivityDeps {
  dataSource: DataSource;
  /** Seals and opens credentials, OAuth attempts, link tokens and webhook secrets at rest. */
  credentialsKeyRing: KeyRing;
  config: AppConfig;
  providers: ProviderRegistry;
  /**
   * The process's egress policies: every request to a URL a tenant or a CRM answer supplied
   * (custom providers, token responses, webhook receivers) goes through them, never plain fetch.
   */
  egress: ProcessEgress;
  /** Starts or signals other workflows (token refresh after new credentials). */
  temporal: Client;
  resyncStarter: ResyncStarter;
  logger: ActivityLogger;
}

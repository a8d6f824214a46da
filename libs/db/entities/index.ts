import { ApiKey } from './api-key.entity';
import { AuditEvent } from './audit-event.entity';
import { CredentialVersion } from './credential-version.entity';
import { Integration } from './integration.entity';
import { ProviderConfig } from './provider-config.entity';
import { Reauthorization } from './reauthorization.entity';
import { Tenant } from './tenant.entity';

export { ApiKey, AuditEvent, CredentialVersion, Integration, ProviderConfig, Reauthorization, Tenant };
export type { IntegrationStatus } from './integration.entity';
export type { CredentialState } from './credential-version.entity';

export const ENTITIES = [Tenant, ApiKey, ProviderConfig, Integration, CredentialVersion, Reauthorization, AuditEvent];

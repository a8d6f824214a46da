import { Alert } from './alert.entity';
import { ApiKey } from './api-key.entity';
import { AuditEvent } from './audit-event.entity';
import { CredentialVersion } from './credential-version.entity';
import { CrmRecord } from './crm-record.entity';
import { Integration } from './integration.entity';
import { ProviderConfig } from './provider-config.entity';
import { Reauthorization } from './reauthorization.entity';
import { Resync } from './resync.entity';
import { ResyncEntity } from './resync-entity.entity';
import { Tenant } from './tenant.entity';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookEndpoint } from './webhook-endpoint.entity';
import { WebhookEvent } from './webhook-event.entity';
import { WebhookReplay } from './webhook-replay.entity';

export { Alert, ApiKey, AuditEvent, CredentialVersion, Integration, ProviderConfig, Reauthorization, Tenant, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookReplay };
export { CrmRecord, Resync, ResyncEntity };
export type { IntegrationStatus } from './integration.entity';
export type { CredentialState } from './credential-version.entity';
export type { WebhookDeliveryStatus } from './webhook-delivery.entity';

export const ENTITIES = [Alert, Tenant, ApiKey, ProviderConfig, Integration, CredentialVersion, Reauthorization, AuditEvent, WebhookEndpoint, WebhookEvent, WebhookDelivery, WebhookReplay, Resync, ResyncEntity, CrmRecord];

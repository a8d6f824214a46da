// Entry point of the workflow bundle: every workflow the worker runs, and nothing else.
export { reauthorization } from './reauthorization.workflow';
export { connectIntegration } from './connect-integration.workflow';
export { tokenRefresh } from './token-refresh.workflow';
export { webhookDelivery } from './webhook-delivery.workflow';
export { entityResync, fullResync } from './full-resync.workflow';
export { integrationLifecycle } from './integration-lifecycle.workflow';
export { webhookReplay } from './webhook-replay.workflow';
export { revokeGrant } from './revoke-grant.workflow';

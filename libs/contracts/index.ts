// Workflows' public interfaces: ids, types and messages, shared by the workflows and their clients.
export * from './connect-integration';
export * from './integration-lifecycle';
export * from './reauthorization';
export * from './resync';
export * from './token-refresh';
export * from './webhook-delivery';
export * from './webhook-replay';
export * from './revoke-grant';

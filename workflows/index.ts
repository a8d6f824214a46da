// Entry point of the workflow bundle: every workflow the worker runs, and nothing else.
export { reauthorization } from './reauthorization.workflow';
export { connectIntegration } from './connect-integration.workflow';

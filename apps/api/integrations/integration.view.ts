// Moved to libs so activities (webhook payloads) build the same object; kept here for existing imports.
export { integrationView, type IntegrationView } from '../../../libs/domain/integration-view';

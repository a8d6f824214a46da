/**
 * Label values of the business metrics. Labels name kinds of things (a CRM, an outcome, an entity
 * type), never a tenant, an integration or anything secret; and their number stays small: a
 * tenant's own provider keys and entity names are counted under `custom`, not one series each.
 */
import { builtInProviders } from '../providers/catalog';

// The catalog's keys and entity types do not depend on where its URLs point.
const CATALOG = builtInProviders({ sandboxCrmUrl: 'http://catalog.invalid' });
const CATALOG_PROVIDERS: ReadonlySet<string> = new Set(CATALOG.map((p) => p.key));
const CATALOG_ENTITIES: ReadonlySet<string> = new Set(CATALOG.flatMap((p) => p.entities));

/** A built-in provider's key as it is; every tenant-defined provider as `custom`. */
export function providerLabel(key: string | null | undefined): string {
  return key && CATALOG_PROVIDERS.has(key) ? key : 'custom';
}

/** An entity type of the catalog as it is; any other as `custom`. */
export function entityLabel(entity: string): string {
  return CATALOG_ENTITIES.has(entity) ? entity : 'custom';
}

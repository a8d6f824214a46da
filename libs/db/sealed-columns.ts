import { linkTokenAad } from '../crypto/link-token';
import { oauthAttemptAad } from '../crypto/oauth-attempt';
import { webhookSecretAad } from '../domain/webhooks';
import { clientSecretAad } from '../providers/provider-registry';
import { credentialAad } from './credential-store';

/**
 * Every value sealed with the credentials key ring (CREDENTIALS_KEYS) at rest: the table, the pair
 * of columns holding the key id and the ciphertext, and the AAD the value was sealed with. The AAD
 * binds a ciphertext to its row, so it is rebuilt from the row itself, with the same function the
 * code that seals and opens the value uses. A new sealed column must be listed here, or
 * `npm run keys:rotate` leaves it under the old key (test/keys-rotate.e2e.test.ts checks the schema).
 */
export interface SealedColumn {
  /** Shown in progress lines: `table.ciphertextColumn`. */
  name: string;
  table: string;
  keyIdColumn: string;
  ciphertextColumn: string;
  /** Columns the AAD is made of (besides `id`, which every table here has as its primary key). */
  aadColumns: string[];
  aad(row: Record<string, string>): string;
}

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    name: 'credential_versions.ciphertext',
    table: 'credential_versions',
    keyIdColumn: 'key_id',
    ciphertextColumn: 'ciphertext',
    aadColumns: ['integration_id'],
    aad: (row) => credentialAad(row.integration_id, row.id),
  },
  {
    name: 'provider_configs.secret_ciphertext',
    table: 'provider_configs',
    keyIdColumn: 'secret_key_id',
    ciphertextColumn: 'secret_ciphertext',
    aadColumns: ['tenant_id', 'provider_key'],
    aad: (row) => clientSecretAad(row.tenant_id, row.provider_key),
  },
  {
    name: 'reauthorizations.link_token_ciphertext',
    table: 'reauthorizations',
    keyIdColumn: 'link_token_key_id',
    ciphertextColumn: 'link_token_ciphertext',
    aadColumns: [],
    aad: (row) => linkTokenAad(row.id),
  },
  {
    name: 'reauthorizations.oauth_ciphertext',
    table: 'reauthorizations',
    keyIdColumn: 'oauth_key_id',
    ciphertextColumn: 'oauth_ciphertext',
    aadColumns: [],
    aad: (row) => oauthAttemptAad(row.id),
  },
  {
    name: 'webhook_endpoints.secret_ciphertext',
    table: 'webhook_endpoints',
    keyIdColumn: 'secret_key_id',
    ciphertextColumn: 'secret_ciphertext',
    aadColumns: [],
    aad: (row) => webhookSecretAad(row.id),
  },
];

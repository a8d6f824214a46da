import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

export type CredentialState = 'pending' | 'active' | 'superseded' | 'revoked';

/**
 * Immutable once written, except for `state`. The secret part (tokens) is one AES-GCM ciphertext
 * with the id of the key that sealed it; identity facts (account, scopes, expiry) stay readable so
 * they can be shown and compared without decrypting.
 */
@Entity('credential_versions')
@Unique(['integrationId', 'version'])
@Unique(['reauthorizationId', 'attempt'])
export class CredentialVersion {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'integration_id', type: 'uuid' }) integrationId: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  /** Null while `pending` (exchanged, not yet validated); numbered when it becomes active. */
  @Column({ type: 'int', nullable: true }) version: number | null;
  @Column({ type: 'text' }) state: CredentialState;
  @Column({ name: 'account_id', type: 'text', nullable: true }) accountId: string | null;
  @Column({ name: 'user_id', type: 'text', nullable: true }) userId: string | null;
  @Column({ type: 'text', array: true, default: '{}' }) scopes: string[];
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true }) expiresAt: Date | null;
  /** When the refresh token stops working by itself (idle window or the CRM's policy); null: not known to. */
  @Column({ name: 'refresh_token_expires_at', type: 'timestamptz', nullable: true }) refreshTokenExpiresAt: Date | null;
  @Column({ type: 'text', nullable: true }) region: string | null;
  @Column({ name: 'base_url', type: 'text', nullable: true }) baseUrl: string | null;
  @Column({ name: 'key_id', type: 'text' }) keyId: string;
  @Column({ type: 'text' }) ciphertext: string;
  /** Which reauthorization (if any) produced this version; makes the swap idempotent on retry. */
  @Column({ name: 'reauthorization_id', type: 'uuid', nullable: true }) reauthorizationId: string | null;
  /** Which authorization attempt of the reauthorization produced it (OAuth); 0 for API tokens. */
  @Column({ type: 'int', default: 0 }) attempt: number;
  /** Non-secret facts from the token response: instance URL, API domain, data center. */
  @Column({ type: 'jsonb', default: {} }) metadata: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}

import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** Mirror of a `reauthorization` workflow for listing and audit; the workflow is the source of truth. */
@Entity('reauthorizations')
export class Reauthorization {
  @PrimaryColumn('uuid') id: string;
  @Index() @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Index() @Column({ name: 'integration_id', type: 'uuid' }) integrationId: string;
  @Column({ name: 'workflow_id', type: 'text' }) workflowId: string;
  /** Pins messages to this run: a later reauthorization reuses the workflow id with a new run. */
  @Column({ name: 'run_id', type: 'text', nullable: true }) runId: string | null;
  @Column({ name: 'auth_type', type: 'text' }) authType: string;
  @Column({ type: 'text' }) phase: string;
  @Column({ type: 'text', nullable: true }) outcome: string | null;
  @Column({ name: 'error_code', type: 'text', nullable: true }) errorCode: string | null;
  @Column({ name: 'error_message', type: 'text', nullable: true }) errorMessage: string | null;
  @Column({ name: 'full_resync', type: 'boolean', default: false }) fullResync: boolean;
  @Column({ type: 'text', array: true, default: '{}' }) scopes: string[];
  @Column({ type: 'text', nullable: true }) region: string | null;
  @Column({ type: 'text', nullable: true }) reason: string | null;
  @Index({ unique: true }) @Column({ name: 'link_token_hash', type: 'text' }) linkTokenHash: string;
  /** The link token sealed with the credentials key ring, so the running reauthorization can be shown again. */
  @Column({ name: 'link_token_key_id', type: 'text' }) linkTokenKeyId: string;
  @Column({ name: 'link_token_ciphertext', type: 'text' }) linkTokenCiphertext: string;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt: Date;
  /**
   * OAuth: the current authorization attempt. `state` is looked up by its hash (single-use: a new
   * attempt replaces it); state, PKCE verifier and authorize URL are sealed together, server-side.
   */
  @Column({ name: 'oauth_attempt', type: 'int', default: 0 }) oauthAttempt: number;
  @Index({ unique: true }) @Column({ name: 'state_hash', type: 'text', nullable: true }) stateHash: string | null;
  @Column({ name: 'oauth_key_id', type: 'text', nullable: true }) oauthKeyId: string | null;
  @Column({ name: 'oauth_ciphertext', type: 'text', nullable: true }) oauthCiphertext: string | null;
  @Column({ name: 'allow_account_change', type: 'boolean', default: false }) allowAccountChange: boolean;
  @Column({ name: 'resync_id', type: 'text', nullable: true }) resyncId: string | null;
  @Column({ name: 'attempts', type: 'int', default: 0 }) attempts: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
}

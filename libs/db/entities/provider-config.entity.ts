import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';

/** A tenant's OAuth app for a catalog provider, or a custom provider declared at run time. */
@Entity('provider_configs')
@Unique(['tenantId', 'providerKey'])
export class ProviderConfig {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'provider_key', type: 'text' }) providerKey: string;
  @Column({ name: 'auth_type', type: 'text' }) authType: string;
  /** Non-secret settings: URLs, scopes, client id, claims. */
  @Column({ type: 'jsonb', default: {} }) settings: Record<string, unknown>;
  @Column({ name: 'secret_key_id', type: 'text', nullable: true }) secretKeyId: string | null;
  @Column({ name: 'secret_ciphertext', type: 'text', nullable: true }) secretCiphertext: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

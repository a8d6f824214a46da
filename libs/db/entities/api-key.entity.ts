import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Only the SHA-256 of a key is stored: keys are 256-bit random, so a fast hash is enough. */
@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Index() @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'key_hash', type: 'text', unique: true }) keyHash: string;
  /** First characters, to tell keys apart in listings without revealing them. */
  @Column({ type: 'text' }) prefix: string;
  /** The tenant's own label (`POST /v1/api-keys {name}`); null for bootstrap keys. */
  @Column({ type: 'text', nullable: true }) name: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  /** When the key last authenticated a request, to the minute (not written on every request). */
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true }) lastUsedAt: Date | null;
  /** Set by `DELETE /v1/api-keys/:id`; a revoked key authenticates nothing and is not listed. */
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt: Date | null;
}

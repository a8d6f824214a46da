import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Only the SHA-256 of a key is stored: keys are 256-bit random, so a fast hash is enough. */
@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Index() @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'key_hash', type: 'text', unique: true }) keyHash: string;
  /** First characters, to tell keys apart in listings without revealing them. */
  @Column({ type: 'text' }) prefix: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt: Date | null;
}

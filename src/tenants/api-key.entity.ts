import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** An API key is stored only as its SHA-256 hash: keys are 32 random bytes, so a slow hash adds nothing. */
@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId!: string;

  @Column('text', { name: 'key_hash' })
  keyHash!: string;

  /** The first characters of the key, so an operator can tell keys apart without the secret. */
  @Column('text')
  prefix!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;
}

import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { OrderingMode } from '../domain/endpoint-snapshot';

/** One signing secret, encrypted at rest (AES-256-GCM); `expiresAt` is set on the old secret of a rotation. */
export interface StoredSecret {
  ciphertext: string;
  keyId: string;
  /** Ciphertext format: absent on rows written before format 2 (which binds the endpoint id). */
  format?: number;
  createdAt: string;
  expiresAt: string | null;
}

@Entity('endpoints')
export class EndpointEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId!: string;

  @Column('text')
  url!: string;

  @Column('text', { nullable: true })
  description!: string | null;

  @Column('text', { name: 'event_types', array: true })
  eventTypes!: string[];

  @Column('text')
  ordering!: OrderingMode;

  @Column('boolean')
  enabled!: boolean;

  @Column('text', { name: 'disabled_reason', nullable: true })
  disabledReason!: string | null;

  @Column('timestamptz', { name: 'disabled_at', nullable: true })
  disabledAt!: Date | null;

  /**
   * Custom request headers, encrypted as one JSON object (their values are receiver credentials);
   * null when the endpoint has none. `header_names` lists the names for reads without decrypting.
   */
  @Column('jsonb', { name: 'sealed_headers', nullable: true })
  sealedHeaders!: StoredSecret | null;

  @Column('text', { name: 'header_names', array: true })
  headerNames!: string[];

  /**
   * Plaintext headers as rows written before issue 19 hold them (and replicas of that version during
   * a rolling upgrade); sealed at boot and by `secrets:reencrypt`, and `{}` once sealed.
   */
  @Column('jsonb', { name: 'headers' })
  legacyHeaders!: Record<string, string>;

  @Column('integer', { name: 'max_concurrency' })
  maxConcurrency!: number;

  @Column('jsonb')
  metadata!: Record<string, string>;

  @Column('jsonb')
  secrets!: StoredSecret[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

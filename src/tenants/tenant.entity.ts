import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity('tenants')
export class TenantEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  name!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** The tenant's portal links issued at or before this moment are refused; null until links are voided. */
  @Column('timestamptz', { name: 'portal_links_not_before', nullable: true })
  portalLinksNotBefore!: Date | null;
}

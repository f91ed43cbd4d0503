import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { TenantEntity } from './tenant.entity';

/** Tenant ids for the fan-out's "unknown tenant" check. */
@Injectable()
export class TenantDirectory {
  constructor(@InjectRepository(TenantEntity) private readonly tenants: Repository<TenantEntity>) {}

  async allIds(): Promise<string[]> {
    const rows = await this.tenants.find({ select: { id: true } });
    return rows.map((row) => row.id);
  }

  async exists(id: string): Promise<boolean> {
    return this.tenants.exists({ where: { id } });
  }
}

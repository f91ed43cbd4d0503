import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { ApiKeyEntity } from '../api-key.entity';
import { API_KEY_PREFIX, hashApiKey } from './api-key';

/** Resolves an API key to its tenant: looked up by hash, so the comparison is on a digest in an index. */
@Injectable()
export class ApiKeyAuthenticator {
  constructor(@InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>) {}

  /** The tenant id for a live key, or null for an unknown or revoked one. */
  async tenantFor(key: string): Promise<string | null> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
    const row = await this.keys.findOne({
      select: { tenantId: true },
      where: { keyHash: hashApiKey(key), revokedAt: IsNull() },
    });
    return row?.tenantId ?? null;
  }
}

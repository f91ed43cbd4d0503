import { TenantEntity } from '../tenants/tenant.entity';
import { ApiKeyEntity } from '../tenants/api-key.entity';
import { EndpointEntity } from '../endpoints/endpoint.entity';

/** Every TypeORM entity; each module owns its entity file, this list only registers them. */
export const ENTITIES = [TenantEntity, ApiKeyEntity, EndpointEntity];

import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Length } from 'class-validator';

export class CreateTenantDto {
  @ApiProperty({ example: 'Acme Corp', minLength: 1, maxLength: 200 })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString({ message: 'name must be a string' })
  @Length(1, 200, { message: 'name must be 1 to 200 characters' })
  name!: string;
}

export class CreatedTenantDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ description: 'The tenant API key; shown once, stored only as a hash.', example: 'hs_...' })
  apiKey!: string;

  @ApiProperty({ format: 'uuid' })
  apiKeyId!: string;
}

export class CreatedApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ description: 'The API key; shown once, stored only as a hash.', example: 'hs_...' })
  apiKey!: string;

  @ApiProperty({ description: 'First characters of the key, to tell keys apart.', example: 'hs_Ab3dE9fQ' })
  prefix!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid', description: 'What DELETE /v1/tenants/:id/keys/:keyId takes' })
  id!: string;

  @ApiProperty({ description: 'First characters of the key, to tell keys apart.', example: 'hs_Ab3dE9fQ' })
  prefix!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Null while the key works' })
  revokedAt!: string | null;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto], description: 'Newest first; the secret itself is never shown again' })
  keys!: ApiKeyDto[];
}

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

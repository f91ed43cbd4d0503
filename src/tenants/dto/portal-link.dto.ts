import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** The upper bound is HOOKSTREAM_PORTAL_LINK_MAX_TTL, checked by the service (it is configuration). */
export class CreatePortalLinkDto {
  @ApiPropertyOptional({
    minimum: 10,
    description:
      'Seconds the link works; default HOOKSTREAM_PORTAL_LINK_TTL, at most HOOKSTREAM_PORTAL_LINK_MAX_TTL.',
  })
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(31_536_000)
  expiresInSeconds?: number;
}

export class PortalLinkDto {
  @ApiProperty({
    description:
      'Open it in a browser: the portal signed in as the tenant. The token is in the fragment, so it never ' +
      'reaches a server log; the page removes it from the address bar.',
    example: 'https://hookstream.example.com/portal#token=hsp_...',
  })
  url!: string;
  @ApiProperty({
    description: 'The bearer token alone (tenant routes only), for embedding.',
    example: 'hsp_...',
  })
  token!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
}

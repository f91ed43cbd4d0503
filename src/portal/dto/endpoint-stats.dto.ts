import { ApiProperty } from '@nestjs/swagger';

export class StatsBucketDto {
  @ApiProperty({ format: 'date-time' }) start!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty() delivered!: number;
  @ApiProperty({ nullable: true, type: Number }) p95LatencyMs!: number | null;
}

export class EndpointStatsDto {
  @ApiProperty({ format: 'uuid' }) endpointId!: string;
  @ApiProperty() url!: string;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ nullable: true, type: String }) disabledReason!: string | null;
  @ApiProperty({ enum: ['closed', 'open', 'half_open'] }) circuitState!: string;
  @ApiProperty({ description: 'Attempts in the window (first attempts, retries and replays)' })
  attempts!: number;
  @ApiProperty() delivered!: number;
  @ApiProperty() failed!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'delivered / attempts; null without attempts' })
  successRate!: number | null;
  @ApiProperty({ nullable: true, type: Number }) p95LatencyMs!: number | null;
  @ApiProperty({ description: 'Deliveries held in PostgreSQL until the endpoint can take them' })
  held!: number;
  @ApiProperty({ description: 'Dead letters not yet replayed' }) deadLetters!: number;
  @ApiProperty({ type: [StatsBucketDto], description: 'The window in equal buckets, oldest first' })
  buckets!: StatsBucketDto[];
}

export class EndpointStatsPageDto {
  @ApiProperty({ format: 'date-time' }) windowStart!: string;
  @ApiProperty() bucketSeconds!: number;
  @ApiProperty({ type: [EndpointStatsDto] }) data!: EndpointStatsDto[];
}

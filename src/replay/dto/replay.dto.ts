import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional } from 'class-validator';

export class WindowReplayDto {
  @ApiProperty({
    example: '2025-06-01T10:00:00Z',
    description: 'Start of the window (inclusive), by Kafka record time; within the input topics’ retention',
  })
  @IsISO8601({ strict: true })
  since!: string;

  @ApiPropertyOptional({
    example: '2025-06-01T11:00:00Z',
    description:
      'End of the window (exclusive). Absent or in the future: everything the input topics hold when ' +
      'the request arrives, whatever time their records carry',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;
}

export class TestEventResultDto {
  @ApiProperty({ description: 'The test event’s id: the webhook-id the endpoint receives' })
  eventId!: string;
}

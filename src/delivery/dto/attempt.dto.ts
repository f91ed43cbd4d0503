import { ApiProperty } from '@nestjs/swagger';
import { PageQueryDto } from '../../common/page-query.dto';

export class ListAttemptsQueryDto extends PageQueryDto {}

export class AttemptDto {
  @ApiProperty() id!: string;
  @ApiProperty() eventId!: string;
  @ApiProperty() deliveryId!: string;
  @ApiProperty() attempt!: number;
  @ApiProperty({ enum: ['delivered', 'failed'] }) outcome!: string;
  @ApiProperty({ nullable: true, type: Number }) statusCode!: number | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty() latencyMs!: number;
  @ApiProperty({ nullable: true, type: String, description: 'Response body, cut at 64 KiB' })
  responseBody!: string | null;
  @ApiProperty() attemptedAt!: string;
}

export class AttemptPageDto {
  @ApiProperty({ type: [AttemptDto] }) data!: AttemptDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

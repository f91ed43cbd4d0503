import {
  Controller,
  DefaultValuePipe,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  ParseUUIDPipe,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../tenants/auth/admin.guard';
import { DomainError } from '../common/domain-error';
import { OpsDeadLetters, type OpsDeadLetter } from './dead-letters/ops-dead-letters';
import { LagMonitor } from './lag/lag-monitor';
import type { GroupTopicLag } from './lag/consumer-lag';
import { OpsSummary, type OpsSummaryView } from './summary/ops-summary';

export interface LagView {
  takenAt: string;
  groups: Array<GroupTopicLag & { members: number }>;
  oldestUnfinishedAgeMs?: number;
  deadLetters: number;
}

/** Operator endpoints (admin token): consumer lag, the dashboard's summary, dead letters across tenants. */
@ApiTags('ops')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('v1/ops')
export class OpsController {
  constructor(
    private readonly lag: LagMonitor,
    private readonly summary: OpsSummary,
    private readonly deadLetters: OpsDeadLetters,
  ) {}

  @Get('lag')
  @ApiOperation({
    summary: 'Committed offset, log-end offset and lag per consumer group, topic and partition',
  })
  async lagView(): Promise<LagView> {
    const snapshot = await this.lag.current().catch((error: Error) => {
      throw new DomainError('unavailable', `cannot read consumer offsets from Kafka: ${error.message}`);
    });
    return {
      takenAt: snapshot.takenAt,
      groups: snapshot.groups.map((group) => ({ ...group, members: snapshot.members[group.group] ?? 0 })),
      oldestUnfinishedAgeMs: snapshot.oldestUnfinishedAgeMs,
      deadLetters: snapshot.deadLetters,
    };
  }

  @Get('summary')
  @ApiOperation({ summary: 'Delivery rate, latency, in-flight work and endpoint health of this process' })
  summaryView(): Promise<OpsSummaryView> {
    return this.summary.view();
  }

  @Get('dead-letters')
  @ApiOperation({ summary: 'The newest dead letters of every tenant' })
  async listDeadLetters(
    @Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit: number,
  ): Promise<{ items: OpsDeadLetter[] }> {
    return { items: await this.deadLetters.list(Math.min(Math.max(limit, 1), 500)) };
  }

  @Post('dead-letters/:id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Deliver a dead letter again: a new delivery id, the same event id' })
  replayDeadLetter(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.deadLetters.replay(id);
  }
}

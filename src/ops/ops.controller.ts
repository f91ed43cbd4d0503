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
import { AdminGuard, OpsTokenAdmitted } from '../tenants/auth/admin.guard';
import { CurrentOperatorCredential, type OperatorCredential } from '../tenants/auth/operator-credentials';
import { DomainError } from '../common/domain-error';
import { OpsDeadLetters, type OpsDeadLetter } from './dead-letters/ops-dead-letters';
import { LagMonitor, type WatchedGroup } from './lag/lag-monitor';
import type { GroupTopicLag } from './lag/consumer-lag';
import { OpsSummary, withEndpointOrigins, type OpsSummaryView, type ReplicaRow } from './summary/ops-summary';
import { ReplicaRegistry } from '../cluster/replica-registry';
import { OperatorRoute } from '../common/roles';

export interface LagView {
  takenAt: string;
  /**
   * Per group and topic; `kind` tells the fan-out, first attempts, a retry tier (whose lag is its
   * depth) and the DLQ mirror apart; `tier` is a tier's number, or a retired tier's topic.
   */
  groups: Array<GroupTopicLag & { members: number; kind: WatchedGroup['kind']; tier?: WatchedGroup['tier'] }>;
  oldestUnfinishedAgeMs?: number;
  deadLetters: number;
}

/**
 * Operator endpoints: consumer lag, the replicas, the dashboard's summary, dead letters across
 * tenants. The ops token reads (`@OpsTokenAdmitted()`: nothing there changes state or holds a
 * secret); only the admin token replays.
 */
@ApiTags('ops')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@OperatorRoute()
@Controller('v1/ops')
export class OpsController {
  constructor(
    private readonly lag: LagMonitor,
    private readonly summary: OpsSummary,
    private readonly deadLetters: OpsDeadLetters,
    private readonly replicas: ReplicaRegistry,
  ) {}

  @Get('lag')
  @OpsTokenAdmitted()
  @ApiOperation({
    summary: 'Committed offset, log-end offset and lag per consumer group, topic and partition',
  })
  async lagView(): Promise<LagView> {
    const kinds = new Map(
      this.lag.watchedGroups().flatMap((w) => w.topics.map((topic) => [`${w.group}/${topic}`, w] as const)),
    );
    const snapshot = await this.lag.current().catch((error: Error) => {
      throw new DomainError('unavailable', `cannot read consumer offsets from Kafka: ${error.message}`);
    });
    return {
      takenAt: snapshot.takenAt,
      groups: snapshot.groups.map((group) => {
        const watched = kinds.get(`${group.group}/${group.topic}`);
        return {
          ...group,
          members: snapshot.members[group.group] ?? 0,
          kind: watched?.kind ?? 'delivery',
          ...(watched?.tier === undefined ? {} : { tier: watched.tier }),
        };
      }),
      oldestUnfinishedAgeMs: snapshot.oldestUnfinishedAgeMs,
      deadLetters: snapshot.deadLetters,
    };
  }

  @Get('summary')
  @OpsTokenAdmitted()
  @ApiOperation({
    summary: 'Delivery rate, latency, in-flight work and endpoint health of every replica, and the replicas',
  })
  async summaryView(@CurrentOperatorCredential() credential: OperatorCredential): Promise<OpsSummaryView> {
    const view = await this.summary.view();
    return credential === 'admin' ? view : withEndpointOrigins(view);
  }

  @Get('cluster')
  @OpsTokenAdmitted()
  @ApiOperation({
    summary:
      'Every replica seen lately: roles, heartbeat, the delivery partitions each owns, in-flight work, circuits',
  })
  async clusterView(): Promise<{ takenAt: string; answeredBy: string; replicas: ReplicaRow[] }> {
    const replicas = await this.summary.cluster();
    return {
      takenAt: new Date().toISOString(),
      answeredBy: this.replicas.id,
      replicas: replicas.map((replica) => replica.row),
    };
  }

  /** Ids, reasons and error text (a status or a network error naming a host); never the task or its payload. */
  @Get('dead-letters')
  @OpsTokenAdmitted()
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

import { BadRequestException, Injectable } from '@nestjs/common';
import { BodyValidationPipe } from '../common/body-validation.pipe';
import { requestProblem } from '../common/depth-limit.pipe';
import { DomainError } from '../common/domain-error';
import { statusOfDomainError } from '../common/exception.filter';
import type { BatchEventResultDto, PublishedBatchDto } from './dto/publish-batch.dto';
import { PublishEventDto } from './dto/publish-event.dto';
import { IngestService } from './ingest.service';

type Checked = { ok: true; event: PublishEventDto } | { ok: false; result: BatchEventResultDto };

/**
 * `POST /v1/events/batch`: each event is checked and published as `POST /v1/events` would publish
 * it alone (same validation, rate, size and idempotency by its `id`), and answered by itself, so a
 * bad event refuses only itself. The events' produce calls meet in the producer's group commit, so
 * a batch goes to Kafka in a few requests, not one per event. Events without an `id` are queued
 * for Kafka in request order; keyed ones wait for their claim first and may overtake (an id given
 * twice in one batch is published once, by its first occurrence).
 */
@Injectable()
export class IngestBatch {
  /** The global pipe's rules, applied to one event at a time. */
  private readonly validation = new BodyValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
  });

  constructor(private readonly ingest: IngestService) {}

  async publish(tenantId: string, events: unknown[]): Promise<PublishedBatchDto> {
    const checked = await Promise.all(events.map((event, index) => this.checked(event, index)));
    // Started in order, without awaiting in between, so unkeyed events are queued in order. An id
    // repeated in the batch waits for its first occurrence, so the first one is the one published.
    const byId = new Map<string, Promise<BatchEventResultDto>>();
    const results = await Promise.all(
      checked.map((check, index) => {
        if (!check.ok) return Promise.resolve(check.result);
        const id = check.event.id;
        const earlier = id === undefined ? undefined : byId.get(id);
        const result = earlier
          ? earlier.then(() => this.published(tenantId, check.event, index))
          : this.published(tenantId, check.event, index);
        if (id !== undefined) byId.set(id, result);
        return result;
      }),
    );
    return {
      accepted: results.filter((result) => result.status === 202).length,
      rejected: results.filter((result) => result.status >= 400).length,
      results,
    };
  }

  private async checked(event: unknown, index: number): Promise<Checked> {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      return { ok: false, result: refused(index, DomainError.invalid('each event must be a JSON object')) };
    }
    // What the global pipe checks of a single event's body (the batch's pipe bounded only its depth).
    const problem = requestProblem(event);
    if (problem !== null) return { ok: false, result: refused(index, DomainError.invalid(problem)) };
    try {
      // A copy: the pipe boxes raw JSON fields in place, and the caller's object stays as it was.
      const dto = (await this.validation.transform(
        { ...event },
        {
          type: 'body',
          metatype: PublishEventDto,
        },
      )) as PublishEventDto;
      return { ok: true, event: dto };
    } catch (error) {
      if (!(error instanceof BadRequestException)) throw error;
      return { ok: false, result: refused(index, DomainError.invalid('validation failed', messages(error))) };
    }
  }

  private async published(
    tenantId: string,
    event: PublishEventDto,
    index: number,
  ): Promise<BatchEventResultDto> {
    try {
      const answer = await this.ingest.publish(tenantId, event);
      return { index, status: answer.replayed ? 200 : 202, id: answer.id };
    } catch (error) {
      if (error instanceof DomainError) return refused(index, error);
      throw error;
    }
  }
}

function refused(index: number, error: DomainError): BatchEventResultDto {
  const details = error.details.length > 0 ? error.details : [error.message];
  const message = error.code === 'validation_failed' && details.length === 1 ? details[0] : error.message;
  return {
    index,
    status: statusOfDomainError(error.code),
    error: error.code,
    message,
    details,
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  };
}

function messages(error: BadRequestException): string[] {
  const raw = (error.getResponse() as { message?: unknown }).message;
  return Array.isArray(raw) ? raw.map(String) : [typeof raw === 'string' ? raw : error.message];
}

import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { DomainError } from '../common/domain-error';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { DeadLettersRepository } from '../dead-letters/dead-letters.repository';
import { AttemptsRepository } from '../delivery/attempts.repository';
import { RESPONSE_EXCERPT_CHARS } from '../delivery/dto/attempt.dto';
import { matchesEventType } from '../domain/subscription-matcher';
import { deliveryStateOf, parseTypeFilter, type FeedCursor, type FeedOrder } from '../domain/event-feed';
import { FeedCursorSeal } from '../domain/feed-cursor-seal';
import { EndpointsRepository } from '../endpoints/endpoints.repository';
import { EventsRepository, type StoredEvent } from '../event-log/events.repository';
import { HeldDeliveries } from '../retry/held-deliveries';
import { StrictParking } from '../retry/strict-parking';
import type {
  EventAttemptDto,
  EventDeliveryDto,
  EventDetailsDto,
  EventDto,
  EventPageDto,
  ListEventsQueryDto,
} from './dto/event.dto';

/**
 * Attempts listed for one event, over all its endpoints (8 per delivery by default, and replays).
 * With response bodies cut to RESPONSE_EXCERPT_CHARS, of control characters (6 bytes of JSON each),
 * one answer stays near 1.3 MB at most, where 1,000 whole bodies made ~393 MB.
 */
const MAX_ATTEMPTS_SHOWN = 200;
/** Dead letters read for one event: the newest, which say whether one is still unreplayed. */
const MAX_DEAD_LETTERS_READ = 1000;

/** The tenant's events feed and where each event stands at its endpoints (README decision 40). */
@Injectable()
export class EventsService {
  private readonly plainCursors: Counter;

  constructor(
    private readonly events: EventsRepository,
    private readonly endpoints: EndpointsRepository,
    private readonly attempts: AttemptsRepository,
    private readonly deadLetters: DeadLettersRepository,
    private readonly held: HeldDeliveries,
    private readonly parking: StrictParking,
    private readonly cursors: FeedCursorSeal,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.plainCursors = new Counter({
      name: 'hookstream_events_feed_plain_cursors_total',
      help:
        'Feed pages asked for with an unencrypted cursor issued before they were sealed; once it stops ' +
        'growing, HOOKSTREAM_ACCEPT_PLAIN_CURSORS=false can refuse them',
      registers: [registry],
    });
  }

  async list(tenantId: string, query: ListEventsQueryDto, limit: number): Promise<EventPageDto> {
    const order = query.order ?? 'oldest';
    const after = this.cursorOf(tenantId, query.cursor, order);
    const from = query.from === undefined ? null : new Date(query.from);
    const to = query.to === undefined ? null : new Date(query.to);
    if (from && to && from > to) throw DomainError.invalid('from is after to', ['from must not be after to']);
    const rows = await this.events.page({
      tenantId,
      order,
      after,
      types: parseTypeFilter(query.types ?? []),
      from,
      to,
      limit: limit + 1,
    });
    if (order === 'newest') return this.olderPage(tenantId, rows, limit);
    // Read after the page, so a retention run between the two is reported, never missed.
    const state = after === null ? null : await this.events.cursorState(tenantId, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    // An empty page hands the caller's position back (sealed, and as this cluster reads it): polled
    // again later, it lists what came since.
    const next = last?.cursor ?? state?.cursor ?? null;
    return {
      data: page.map(toDto),
      nextCursor: next === null ? null : this.cursors.seal(tenantId, next),
      hasMore: rows.length > limit,
      gap: state?.gap ?? false,
    };
  }

  /**
   * A newest-first page: its cursor leads to older events, so paging back ends at the oldest kept
   * (null, nothing to poll for). Retention deletes from that end, so it leaves no gap behind.
   */
  private olderPage(tenantId: string, rows: StoredEvent[], limit: number): EventPageDto {
    const page = rows.slice(0, limit);
    const hasMore = rows.length > limit;
    const last = page[page.length - 1];
    return {
      data: page.map(toDto),
      nextCursor: hasMore && last ? this.cursors.seal(tenantId, last.cursor, 'newest') : null,
      hasMore,
      gap: false,
    };
  }

  async get(tenantId: string, eventId: string): Promise<EventDetailsDto> {
    const event = await this.events.findOne(tenantId, eventId);
    if (!event) throw DomainError.notFound('event');
    const [endpoints, attempts, history, deadLetters] = await Promise.all([
      this.endpoints.allForTenant(tenantId),
      this.attempts.forEvent(tenantId, eventId, MAX_ATTEMPTS_SHOWN, RESPONSE_EXCERPT_CHARS),
      this.attempts.summaryForEvent(tenantId, eventId),
      this.deadLetters.forEvent(tenantId, eventId, MAX_DEAD_LETTERS_READ),
    ]);
    // Endpoints the fan-out would have matched when it took the event (as far as their present
    // settings tell: a disabled one was given no task), and any other with a trace of it.
    const ids = new Set(
      endpoints
        .filter((endpoint) => endpoint.enabled && endpoint.createdAt <= event.receivedAt)
        .filter((endpoint) => matchesEventType(endpoint.eventTypes, event.type))
        .map((endpoint) => endpoint.id),
    );
    for (const endpointId of history.keys()) ids.add(endpointId);
    for (const deadLetter of deadLetters) if (deadLetter.endpointId) ids.add(deadLetter.endpointId);
    const [held, parked] = await Promise.all([
      this.held.endpointsHolding([...ids], eventId),
      this.parking.endpointsParking([...ids], eventId),
    ]);
    const urls = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint.url]));
    const deliveries = [...ids].map((endpointId): EventDeliveryDto => {
      const own = attempts.filter((attempt) => attempt.endpointId === endpointId);
      const logged = history.get(endpointId);
      const state = deliveryStateOf({
        // The newest attempt of each outcome decides the state, whichever attempts are listed.
        attempts: [
          ...(logged?.lastDeliveredAt ? [{ outcome: 'delivered', attemptedAt: logged.lastDeliveredAt }] : []),
          ...(logged?.lastFailedAt ? [{ outcome: 'failed', attemptedAt: logged.lastFailedAt }] : []),
        ],
        deadLetters: deadLetters.filter((deadLetter) => deadLetter.endpointId === endpointId),
        held: held.has(endpointId),
        parked: parked.has(endpointId),
      });
      return {
        endpointId,
        url: urls.get(endpointId) ?? null,
        state,
        attempts: own.map(({ endpointId: _endpoint, responseBodyCut, ...attempt }): EventAttemptDto => ({
          ...attempt,
          responseBodyTruncated: responseBodyCut,
          attemptedAt: attempt.attemptedAt.toISOString(),
        })),
        attemptCount: logged?.count ?? 0,
        attemptsLeftOut: (logged?.count ?? 0) - own.length,
      };
    });
    return { ...toDto(event), deliveries };
  }

  private cursorOf(tenantId: string, text: string | undefined, order: FeedOrder): FeedCursor | null {
    if (text === undefined) return null;
    const opened = this.cursors.open(tenantId, text, order);
    if (opened === null) {
      throw DomainError.invalid('cursor is not valid', [
        `cursor must be a nextCursor value from a previous page of GET /v1/events with order=${order}`,
      ]);
    }
    if (opened.format === 'plain') this.plainCursors.inc();
    return opened.cursor;
  }
}

function toDto(event: StoredEvent): EventDto {
  return {
    id: event.eventId,
    type: event.type,
    source: event.source,
    subject: event.subject,
    time: event.time,
    receivedAt: event.receivedAt.toISOString(),
    // Parsed back from the text every delivery carried; JSON.parse makes `__proto__` an own key.
    data: event.data === null ? null : (JSON.parse(event.data.toString('utf8')) as unknown),
  };
}

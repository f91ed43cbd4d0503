import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { LOGGER } from '../common/logger.module';
import { ThrottledWarning } from '../common/throttled-warning';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { ABANDONED_CLAIM_AFTER_MS, answerToClaimed } from '../domain/idempotency';
import { isTransientError } from '../domain/transient';
import { GroupCommit } from '../domain/group-commit';
import {
  IdempotencyKeys,
  type ClaimLease,
  type ClaimRequest,
  type Settlement,
} from './idempotency-keys.repository';

/** A claim refused and found released this many times in a row is answered as in progress. */
const MAX_CLAIM_ROUNDS = 3;
/** Settling statements at once; settlements made meanwhile wait and go out together in the next. */
const MAX_SETTLES_IN_FLIGHT = 2;
/** Most settlements in one statement (a batch of events settles hundreds at once). */
const MAX_SETTLES_PER_STATEMENT = 1_000;
/** Claiming statements at once, and most claims in one, as for settlements. */
const MAX_CLAIMS_IN_FLIGHT = 2;
const MAX_CLAIMS_PER_STATEMENT = 1_000;
/**
 * How often the claims of writes still running here are renewed: a third of the abandonment
 * time, so a claim is taken over only after two renewals in a row failed or never ran.
 */
export const RENEW_CLAIMS_EVERY_MS = ABANDONED_CLAIM_AFTER_MS / 3;
const MAX_RENEWALS_PER_STATEMENT = 1_000;

/** A claim waiting for its statement; `answer` is set by the write it goes out in. */
interface PendingClaim {
  request: ClaimRequest;
  answer?: string | null;
}

export interface KeyedPublish {
  tenantId: string;
  key: string;
  eventId: string;
  bodyHash: string;
}

/** A claim this request holds: the event id to publish under, and the token that settles it. */
export interface HeldClaim {
  eventId: string;
  token: string;
}

/** Publish under the held claim (then settle it), or answer with the first request's event id. */
export type ClaimOutcome = ({ kind: 'publish' } & HeldClaim) | { kind: 'replay'; eventId: string };

type DuplicateAnswer = 'replayed' | 'in_progress' | 'body_mismatch';

/** A claim held by a write running here, as renewed. */
type HeldLease = ClaimLease & { eventId: string };

/**
 * The idempotency of `POST /v1/events` per tenant, across restarts and replicas: a key is claimed
 * in PostgreSQL before the event is written to Kafka, and settled after. Without PostgreSQL a keyed
 * POST answers 503 rather than publish unchecked.
 *
 * A claim is taken over as abandoned only when its holder stopped renewing it: while the write
 * runs here, however long Kafka takes (kafkajs retries an idempotent send without end), its claim
 * is renewed every RENEW_CLAIMS_EVERY_MS. So a retry waits (409) for a live write rather than
 * write a second copy; it takes over once the holding process died or lost PostgreSQL for
 * ABANDONED_CLAIM_AFTER_MS.
 */
@Injectable()
export class IngestIdempotency implements OnApplicationShutdown {
  private readonly duplicates: Counter<'answer'>;
  private readonly superseded: Counter<'outcome'>;
  /** The claims of writes running here, by token. */
  private readonly held = new Map<string, HeldLease>();
  private renewTimer?: NodeJS.Timeout;
  private renewing: Promise<void> | null = null;
  private readonly renewFailed: ThrottledWarning;
  /**
   * Settlements of concurrent requests in one UPDATE: a keyed POST cost three statements (claim,
   * find only on a conflict, settle); under load the settles now share round trips.
   */
  private readonly settlements = new GroupCommit<Settlement>({
    maxInFlight: MAX_SETTLES_IN_FLIGHT,
    maxBatchItems: MAX_SETTLES_PER_STATEMENT,
    write: async (batch) => {
      for (const settlement of await this.keys.settleMany(batch)) this.supersededClaim(settlement);
    },
  });

  /** Claims of concurrent requests in one INSERT, as settlements are gathered. */
  private readonly claims = new GroupCommit<PendingClaim>({
    maxInFlight: MAX_CLAIMS_IN_FLIGHT,
    maxBatchItems: MAX_CLAIMS_PER_STATEMENT,
    write: async (batch) => {
      const answers = await this.keys.claimMany(batch.map((pending) => pending.request));
      batch.forEach((pending, index) => (pending.answer = answers[index]));
    },
  });

  constructor(
    @Inject(IdempotencyKeys)
    private readonly keys: Pick<IdempotencyKeys, 'claimMany' | 'find' | 'settleMany' | 'renewMany'>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.duplicates = new Counter({
      name: 'hookstream_ingest_duplicates_total',
      help: 'POST /v1/events requests whose idempotency key was already claimed, by the answer given',
      labelNames: ['answer'],
      registers: [registry],
    });
    for (const answer of ['replayed', 'in_progress', 'body_mismatch'] as const)
      this.duplicates.inc({ answer }, 0);
    this.superseded = new Counter({
      name: 'hookstream_ingest_claims_superseded_total',
      help:
        'Keyed POST /v1/events writes that ended (published or failed) after a retry had taken their ' +
        'idempotency claim over: both may have written the event, under one id',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of ['published', 'failed'] as const) this.superseded.inc({ outcome }, 0);
    this.renewFailed = new ThrottledWarning(
      logger,
      'idempotency claims of running ingest writes not renewed; a retry may take one over ' +
        `once it was not renewed for ${ABANDONED_CLAIM_AFTER_MS} ms`,
    );
  }

  async claim(request: KeyedPublish): Promise<ClaimOutcome> {
    const windowMs = this.config.idempotencyWindowMs;
    const token = randomUUID();
    for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
      const claimed = await this.database(() =>
        this.claimed({ ...request, token, windowMs, abandonedAfterMs: ABANDONED_CLAIM_AFTER_MS }),
      );
      if (claimed !== null) {
        this.hold({ tenantId: request.tenantId, key: request.key, token, eventId: claimed });
        return { kind: 'publish', eventId: claimed, token };
      }
      const existing = await this.database(() => this.keys.find(request.tenantId, request.key, windowMs));
      const answer = answerToClaimed(existing, request.bodyHash);
      switch (answer.kind) {
        case 'replay':
          this.counted('replayed');
          return { kind: 'replay', eventId: answer.eventId };
        case 'body_mismatch':
          this.counted('body_mismatch');
          throw new DomainError(
            'idempotency_key_reused',
            `idempotency key "${request.key}" was used for a different request body within the last ` +
              `${this.config.idempotencyWindowMs / 1000} s; use a new key (or event id) for a new event`,
          );
        case 'in_progress':
          return this.inProgress(request.key);
        case 'claim_again':
          continue;
      }
    }
    return this.inProgress(request.key);
  }

  /**
   * Ends the claim. A claim that cannot be settled (PostgreSQL gone since the claim) stays
   * `pending`: the same request retried takes it over after ABANDONED_CLAIM_AFTER_MS. A claim taken
   * over meanwhile is not marked `failed` by this request (IdempotencyKeys.settleMany).
   */
  async settle(request: KeyedPublish, claim: HeldClaim, state: 'published' | 'failed'): Promise<void> {
    const { tenantId, key, bodyHash } = request;
    const { eventId, token } = claim;
    await this.settlements
      .submit({ tenantId, key, eventId, bodyHash, token, state })
      .catch((error: unknown) => {
        this.logger.warn(
          { err: error, tenantId, eventId, state },
          'idempotency claim not settled; a retry may take it over once it is abandoned',
        );
      })
      .finally(() => this.held.delete(token));
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    await this.renewing;
  }

  private hold(lease: HeldLease): void {
    this.held.set(lease.token, lease);
    this.renewTimer ??= setInterval(() => this.renewHeld(), RENEW_CLAIMS_EVERY_MS).unref();
  }

  /** One renewal of every claim held here; the timer stops once none is (a claim starts it again). */
  private renewHeld(): void {
    if (this.renewing) return;
    if (this.held.size === 0) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
      return;
    }
    const leases = [...this.held.values()];
    this.renewing = (async () => {
      for (let start = 0; start < leases.length; start += MAX_RENEWALS_PER_STATEMENT) {
        const lost = await this.keys.renewMany(leases.slice(start, start + MAX_RENEWALS_PER_STATEMENT));
        for (const { token } of lost) this.lostWhileWriting(token);
      }
    })()
      .catch((error: unknown) => this.renewFailed.warn(error))
      .finally(() => (this.renewing = null));
  }

  /** A retry took the claim over while its write still runs here (this process could not renew it). */
  private lostWhileWriting(token: string): void {
    const lease = this.held.get(token);
    if (lease === undefined) return;
    this.held.delete(token);
    this.logger.warn(
      { tenantId: lease.tenantId, eventId: lease.eventId },
      'a retry took over the idempotency claim of an ingest write still running here; the event ' +
        'may be on the input topic twice under one id (README Section B)',
    );
  }

  /** A write that ended after its claim was taken over: said, since it may mean a second copy. */
  private supersededClaim({ tenantId, eventId, state }: Settlement): void {
    this.superseded.inc({ outcome: state });
    this.logger.warn(
      { tenantId, eventId, outcome: state },
      'an ingest write ended after a retry took its idempotency claim over; the event may be on the ' +
        'input topic twice under one id (README Section B)',
    );
  }

  private async claimed(request: ClaimRequest): Promise<string | null> {
    const pending: PendingClaim = { request };
    await this.claims.submit(pending);
    return pending.answer ?? null;
  }

  private inProgress(key: string): never {
    this.counted('in_progress');
    throw new DomainError(
      'idempotency_key_in_progress',
      `a request with idempotency key "${key}" is being published now; retry shortly`,
      [],
      1,
    );
  }

  private counted(answer: DuplicateAnswer): void {
    this.duplicates.inc({ answer });
  }

  /** PostgreSQL unreachable: 503, never a publish without the check. */
  private async database<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!isTransientError(error)) throw error;
      throw new DomainError(
        'unavailable',
        `event not accepted: PostgreSQL, where idempotency keys are kept, is unavailable (${(error as Error).message})`,
      );
    }
  }
}

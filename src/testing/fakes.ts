/**
 * In-memory stand-ins for the ports of the delivery side, for unit specs (never built into dist).
 * Each records what it was asked to do, so a spec asserts behaviour: what was written where.
 */
import pino, { type Logger } from 'pino';
import { loadConfig, type AppConfig } from '../config/config';
import { notificationMarkFor, taskSealFor } from '../config/config.module';
import type { Clock } from '../domain/clock';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import type { EndpointEntity } from '../endpoints/endpoint.entity';
import { generateSecret, secretBinding, type SecretCipher } from '../endpoints/secrets/secret-cipher';
import type { OutgoingRecord } from '../domain/records';

export const silentLogger: Logger = pino({ level: 'silent' });

/** A configuration as the service would load it, with the given environment on top. */
export function testConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    HOOKSTREAM_ADMIN_TOKEN: 'unit-test-admin-token',
    HOOKSTREAM_SECRET_KEY: 'unit-test-secret-key-0123456789abcdef',
    HOOKSTREAM_RETRY_DELAYS: '5s,30s,2m',
    HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '3',
    HOOKSTREAM_CIRCUIT_OPEN_FOR: '30s',
    ...env,
  });
}

/** The task MAC of {@link testConfig}'s secret key: what the service would seal and open with. */
export const testTaskSeal = taskSealFor(testConfig());

/** The notification mark of {@link testConfig}'s secret key: what the publisher and the fan-out use. */
export const testNotificationMark = notificationMarkFor(testConfig());

export class FakeClock implements Clock {
  constructor(public ms = Date.UTC(2026, 11, 2, 12, 0, 0)) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

/** The producer's `send`: records what was produced to which topic; can be told to fail. */
export class RecordingProducer {
  readonly sent: Array<{ topic: string; record: OutgoingRecord }> = [];
  failWith: Error | null = null;
  /** Refuses the records it answers an error for, as a broker refuses one too large (kafkajs' `type`). */
  refuse: (topic: string, record: OutgoingRecord) => Error | null = () => null;

  async send(topic: string, records: OutgoingRecord[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    for (const record of records) {
      const refusal = this.refuse(topic, record);
      if (refusal) throw refusal;
    }
    for (const record of records) this.sent.push({ topic, record });
  }

  to(topic: string): OutgoingRecord[] {
    return this.sent.filter((sent) => sent.topic === topic).map((sent) => sent.record);
  }
}

export function endpoint(overrides: Partial<EndpointSnapshot> = {}): EndpointSnapshot {
  return {
    id: '7b0e6d5c-4a3b-4c2d-9e1f-0a1b2c3d4e5f',
    tenantId: '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b',
    url: 'http://127.0.0.1:9/hook',
    eventTypes: ['*'],
    ordering: 'none',
    enabled: true,
    headers: {},
    maxConcurrency: 1,
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    secretExpiries: [null],
    problem: null,
    ...overrides,
  };
}

/** A promise the spec resolves by hand, to hold an attempt open. */
export function gate<T = void>() {
  let open!: (value: T) => void;
  const opened = new Promise<T>((resolve) => (open = resolve));
  return { open, opened };
}

/** Lets every promise callback queued so far run. */
export const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A row of the endpoints table, its signing secret encrypted with `cipher` as the API stores it. */
export function endpointRow(
  id: string,
  tenantId: string,
  cipher: SecretCipher,
  now: Date,
  secret = generateSecret(),
): EndpointEntity {
  return {
    id,
    tenantId,
    url: `http://127.0.0.1:9/${id}`,
    description: null,
    eventTypes: ['*'],
    ordering: 'none',
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    sealedHeaders: null,
    headerNames: [],
    legacyHeaders: {},
    maxConcurrency: 1,
    metadata: {},
    secrets: [cipher.encrypt(secret, secretBinding(id), now)],
    createdAt: now,
    updatedAt: now,
  };
}

import { createHash } from 'node:crypto';
import {
  answerToClaimed,
  IDEMPOTENCY_KEY_PATTERN,
  idempotencyKeyOf,
  requestFingerprint,
  type StoredClaim,
} from './idempotency';

describe('idempotency keys', () => {
  it('are the Idempotency-Key header when given, else the event id, else none', () => {
    expect(idempotencyKeyOf('key-1', 'evt-1')).toBe('key-1');
    expect(idempotencyKeyOf(undefined, 'evt-1')).toBe('evt-1');
    expect(idempotencyKeyOf(undefined, undefined)).toBeNull();
  });

  it.each([
    ['a', true],
    ['x'.repeat(255), true],
    ['x'.repeat(256), false],
    ['', false],
    ['has space', false],
    ['a, b', false],
    ['é', false],
  ])('accept %p: %p', (key, ok) => expect(IDEMPOTENCY_KEY_PATTERN.test(key)).toBe(ok));
});

describe('requestFingerprint', () => {
  const body = { type: 'record.updated', data: { a: 1, b: [true, null] }, id: 'evt-1' };

  it('is the same for the same request, however it was spaced', () => {
    const reparsed = JSON.parse(JSON.stringify(body, null, 2)) as typeof body;
    expect(requestFingerprint(reparsed)).toBe(requestFingerprint(body));
    expect(requestFingerprint(body)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['type', { ...body, type: 'record.deleted' }],
    ['data', { ...body, data: { a: 2, b: [true, null] } }],
    ['data key order', { ...body, data: { b: [true, null], a: 1 } }],
    ['data sent as a string', { ...body, data: JSON.stringify(body.data) }],
    ['id', { ...body, id: 'evt-2' }],
    ['source', { ...body, source: '/billing' }],
    ['subject', { ...body, subject: 'invoice/1' }],
    ['time', { ...body, time: '2025-06-01T12:00:00Z' }],
    ['partitionkey', { ...body, partitionkey: 'customer/1' }],
  ])('differs when the %s differs', (_what, other) => {
    expect(requestFingerprint(other)).not.toBe(requestFingerprint(body));
  });

  it('hashes a request without partitionkey as it did before the field existed', () => {
    expect(requestFingerprint(body)).toBe(
      createHash('sha256')
        .update(JSON.stringify([body.type, body.data, body.id, null, null, null]), 'utf8')
        .digest('hex'),
    );
  });

  it('does not confuse a field moving to its neighbour', () => {
    expect(requestFingerprint({ type: 't', data: null, source: 'x' })).not.toBe(
      requestFingerprint({ type: 't', data: null, subject: 'x' }),
    );
  });
});

describe('answerToClaimed', () => {
  const claim = (state: StoredClaim['state'], bodyHash = 'h1'): StoredClaim => ({
    eventId: 'evt-1',
    bodyHash,
    state,
  });

  it('replays a published claim of the same body with its event id', () => {
    expect(answerToClaimed(claim('published'), 'h1')).toEqual({ kind: 'replay', eventId: 'evt-1' });
  });

  it('answers in progress while the same body is being published', () => {
    expect(answerToClaimed(claim('pending'), 'h1')).toEqual({ kind: 'in_progress' });
  });

  it.each(['published', 'pending', 'failed'] as const)(
    'refuses another body whatever the state (%s)',
    (state) => {
      expect(answerToClaimed(claim(state, 'h2'), 'h1')).toEqual({ kind: 'body_mismatch' });
    },
  );

  it('claims again when the claim failed or is gone since it was refused', () => {
    expect(answerToClaimed(claim('failed'), 'h1')).toEqual({ kind: 'claim_again' });
    expect(answerToClaimed(null, 'h1')).toEqual({ kind: 'claim_again' });
  });
});

import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import {
  buildWebhookHeaders,
  decodeWebhookSecret,
  generateWebhookSecret,
  InvalidWebhookSecretError,
  isValidWebhookSecret,
  signPayload,
} from './standard-webhooks';

// The receiver library checks the timestamp against Date.now(); pin it instead of depending on the wall clock.
const NOW_SECONDS = 1_700_000_000;
const OLD_SECRET = 'whsec_' + Buffer.alloc(32, 1).toString('base64');
const NEW_SECRET = 'whsec_' + Buffer.alloc(32, 2).toString('base64');
const BODY = JSON.stringify({
  type: 'record.updated',
  timestamp: '2023-11-14T22:13:20.000Z',
  data: { a: 'é✓' },
});

function verifyWith(secret: string, headers: Record<string, string>, body = BODY): unknown {
  return new Webhook(secret).verify(body, headers);
}

describe('Standard Webhooks signing', () => {
  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW_SECONDS * 1000);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('matches the published reference vector', () => {
    const signature = signPayload({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestampSeconds: 1614265330,
      body: '{"test": 2432232314}',
      secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    });
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('builds the three headers', () => {
    const headers = buildWebhookHeaders({
      id: 'evt_1',
      timestampSeconds: NOW_SECONDS,
      body: BODY,
      secrets: [OLD_SECRET],
    });
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-timestamp']).toBe(String(NOW_SECONDS));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('is verified by the standardwebhooks receiver library with one secret', () => {
    const headers = buildWebhookHeaders({
      id: 'evt_1',
      timestampSeconds: NOW_SECONDS,
      body: BODY,
      secrets: [OLD_SECRET],
    });
    expect(verifyWith(OLD_SECRET, headers)).toEqual(JSON.parse(BODY));
  });

  it('agrees with the receiver library signature byte for byte, including non-ASCII bodies', () => {
    const signature = signPayload({
      id: 'evt_ü',
      timestampSeconds: NOW_SECONDS,
      body: BODY,
      secrets: [NEW_SECRET],
    });
    expect(signature).toBe(new Webhook(NEW_SECRET).sign('evt_ü', new Date(NOW_SECONDS * 1000), BODY));
  });

  describe('during secret rotation', () => {
    const headers = () =>
      buildWebhookHeaders({
        id: 'evt_2',
        timestampSeconds: NOW_SECONDS,
        body: BODY,
        secrets: [NEW_SECRET, OLD_SECRET],
      });

    it('sends one space-separated v1 signature per secret', () => {
      const parts = headers()['webhook-signature'].split(' ');
      expect(parts).toHaveLength(2);
      expect(parts.every((p) => p.startsWith('v1,'))).toBe(true);
      expect(parts[0]).not.toBe(parts[1]);
    });

    it('verifies for a receiver that knows only the old secret', () => {
      expect(verifyWith(OLD_SECRET, headers())).toEqual(JSON.parse(BODY));
    });

    it('verifies for a receiver that knows only the new secret', () => {
      expect(verifyWith(NEW_SECRET, headers())).toEqual(JSON.parse(BODY));
    });

    it('does not verify for a receiver with an unrelated secret', () => {
      const other = 'whsec_' + Buffer.alloc(32, 3).toString('base64');
      expect(() => verifyWith(other, headers())).toThrow(WebhookVerificationError);
    });
  });

  it('fails verification when the body, id or timestamp is changed', () => {
    const headers = buildWebhookHeaders({
      id: 'evt_3',
      timestampSeconds: NOW_SECONDS,
      body: BODY,
      secrets: [OLD_SECRET],
    });
    expect(() => verifyWith(OLD_SECRET, headers, BODY + ' ')).toThrow(WebhookVerificationError);
    expect(() => verifyWith(OLD_SECRET, { ...headers, 'webhook-id': 'evt_4' })).toThrow(
      WebhookVerificationError,
    );
    expect(() =>
      verifyWith(OLD_SECRET, { ...headers, 'webhook-timestamp': String(NOW_SECONDS - 1) }),
    ).toThrow(WebhookVerificationError);
  });

  it('is rejected by the receiver when the timestamp is outside its tolerance', () => {
    const headers = buildWebhookHeaders({
      id: 'evt_5',
      timestampSeconds: NOW_SECONDS - 10 * 60,
      body: BODY,
      secrets: [OLD_SECRET],
    });
    expect(() => verifyWith(OLD_SECRET, headers)).toThrow(/too old/);
  });

  it('is deterministic', () => {
    const input = { id: 'evt_6', timestampSeconds: NOW_SECONDS, body: BODY, secrets: [OLD_SECRET] };
    expect(signPayload(input)).toBe(signPayload({ ...input }));
  });

  describe('input validation', () => {
    const base = { id: 'evt', timestampSeconds: NOW_SECONDS, body: '{}' };

    it('refuses to sign without a secret', () => {
      expect(() => signPayload({ ...base, secrets: [] })).toThrow(InvalidWebhookSecretError);
    });

    it.each([
      ['no prefix', Buffer.alloc(32, 1).toString('base64')],
      ['empty key', 'whsec_'],
      ['not base64', 'whsec_not*base64!'],
      ['missing padding', 'whsec_' + Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '')],
    ])('rejects a secret with %s, without echoing it', (_label, secret) => {
      expect(() => signPayload({ ...base, secrets: [secret] })).toThrow(InvalidWebhookSecretError);
      try {
        signPayload({ ...base, secrets: [secret] });
      } catch (error) {
        if (secret.length > 'whsec_'.length) expect((error as Error).message).not.toContain(secret);
      }
    });

    it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects timestamp %p', (timestampSeconds) => {
      expect(() => signPayload({ ...base, timestampSeconds, secrets: [OLD_SECRET] })).toThrow(RangeError);
    });
  });

  describe('secrets', () => {
    it('generates valid, distinct secrets the receiver library accepts', () => {
      const a = generateWebhookSecret();
      const b = generateWebhookSecret();
      expect(a).not.toBe(b);
      expect(isValidWebhookSecret(a)).toBe(true);
      expect(decodeWebhookSecret(a)).toHaveLength(32);
      const headers = buildWebhookHeaders({
        id: 'evt_7',
        timestampSeconds: NOW_SECONDS,
        body: BODY,
        secrets: [a],
      });
      expect(verifyWith(a, headers)).toEqual(JSON.parse(BODY));
    });

    it('requires at least 24 bytes of key to call a secret valid', () => {
      expect(isValidWebhookSecret('whsec_' + Buffer.alloc(23).toString('base64'))).toBe(false);
      expect(isValidWebhookSecret('whsec_' + Buffer.alloc(24).toString('base64'))).toBe(true);
      expect(isValidWebhookSecret('garbage')).toBe(false);
    });
  });
});

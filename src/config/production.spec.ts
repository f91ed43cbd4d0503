import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from './config';
import { isKeyShaped } from './production';

const strongToken = randomBytes(32).toString('base64url');
const strongKey = randomBytes(32).toString('base64');

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('NODE_ENV=production', () => {
  const production = {
    NODE_ENV: 'production',
    HOOKSTREAM_ADMIN_TOKEN: strongToken,
    HOOKSTREAM_SECRET_KEY: strongKey,
  };

  it('accepts generated credentials, and then defaults to HTTPS-only and ops behind the admin token', () => {
    const config = loadConfig(production);
    expect(config.security).toMatchObject({ production: true, httpsOnly: true });
    expect(config.ops).toMatchObject({ port: null, host: '127.0.0.1', auth: 'admin' });
  });

  it("refuses docker-compose.yml's and the demo's values, naming each variable", () => {
    const problems = problemsOf({
      ...production,
      HOOKSTREAM_ADMIN_TOKEN: 'demo-admin-token-change-me',
      HOOKSTREAM_SECRET_KEY: 'demo-secret-key-change-me-0123456789abcdef',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^HOOKSTREAM_ADMIN_TOKEN: is the published demo value/),
      expect.stringMatching(/^HOOKSTREAM_SECRET_KEY: is the published demo value/),
    ]);
  });

  it('refuses a weak admin token and a passphrase-style or short key', () => {
    expect(problemsOf({ ...production, HOOKSTREAM_ADMIN_TOKEN: 'a'.repeat(40) })).toEqual([
      expect.stringMatching(/^HOOKSTREAM_ADMIN_TOKEN: too weak/),
    ]);
    for (const key of [
      'correct horse battery staple and more words',
      'k'.repeat(44),
      randomBytes(16).toString('hex'),
    ]) {
      expect(problemsOf({ ...production, HOOKSTREAM_SECRET_KEY: key })).toEqual([
        expect.stringMatching(/^HOOKSTREAM_SECRET_KEY: must be 32 or more random bytes/),
      ]);
    }
  });

  it('lets a demo key stay in HOOKSTREAM_SECRET_KEY_PREVIOUS, so it can be retired', () => {
    expect(
      problemsOf({
        ...production,
        HOOKSTREAM_SECRET_KEY_PREVIOUS: 'demo-secret-key-change-me-0123456789abcdef',
      }),
    ).toEqual([]);
  });

  it('is off by default: development keeps its demo values and plain HTTP', () => {
    const config = loadConfig({
      HOOKSTREAM_ADMIN_TOKEN: 'a'.repeat(16),
      HOOKSTREAM_SECRET_KEY: 'k'.repeat(32),
    });
    expect(config.security).toMatchObject({ production: false, httpsOnly: false, authFailureLimit: 20 });
    expect(config.ops.auth).toBe('none');
  });
});

describe('isKeyShaped', () => {
  it('takes 32+ random bytes in base64, base64url or hex', () => {
    expect(isKeyShaped(randomBytes(32).toString('base64'))).toBe(true);
    expect(isKeyShaped(randomBytes(32).toString('base64url'))).toBe(true);
    expect(isKeyShaped(randomBytes(32).toString('hex'))).toBe(true);
    expect(isKeyShaped(randomBytes(31).toString('base64'))).toBe(false);
  });
});

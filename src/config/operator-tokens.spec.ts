import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from './config';

const required = { HOOKSTREAM_ADMIN_TOKEN: 'a'.repeat(16), HOOKSTREAM_SECRET_KEY: 'k'.repeat(32) };
const strong = () => randomBytes(32).toString('base64url');
const production = {
  NODE_ENV: 'production',
  HOOKSTREAM_ADMIN_TOKEN: strong(),
  HOOKSTREAM_SECRET_KEY: randomBytes(32).toString('base64'),
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('the operator tokens', () => {
  it('has no ops token and no previous admin token unless set', () => {
    const config = loadConfig(required);
    expect(config.previousAdminTokens).toEqual([]);
    expect(config.ops.tokens).toEqual([]);
  });

  it('reads the previous lists as comma lists, the current ops token first', () => {
    const config = loadConfig({
      ...required,
      HOOKSTREAM_ADMIN_TOKEN_PREVIOUS: 'b'.repeat(16) + ', ' + 'c'.repeat(16) + ',',
      HOOKSTREAM_OPS_TOKEN: 'o'.repeat(16),
      HOOKSTREAM_OPS_TOKEN_PREVIOUS: 'p'.repeat(16),
    });
    expect(config.previousAdminTokens).toEqual(['b'.repeat(16), 'c'.repeat(16)]);
    expect(config.ops.tokens).toEqual(['o'.repeat(16), 'p'.repeat(16)]);
  });

  it('refuses short tokens, an ops token equal to an admin token, and previous ops tokens without a current one', () => {
    expect(
      problemsOf({
        ...required,
        HOOKSTREAM_OPS_TOKEN: 'short',
        HOOKSTREAM_ADMIN_TOKEN_PREVIOUS: 'b'.repeat(16) + ',x',
      }),
    ).toEqual([
      'HOOKSTREAM_ADMIN_TOKEN_PREVIOUS: each token must be at least 16 characters',
      'HOOKSTREAM_OPS_TOKEN: must be at least 16 characters',
    ]);
    const sameTokens: Array<Record<string, string>> = [
      { HOOKSTREAM_OPS_TOKEN: required.HOOKSTREAM_ADMIN_TOKEN },
      { HOOKSTREAM_OPS_TOKEN: 'o'.repeat(16), HOOKSTREAM_ADMIN_TOKEN_PREVIOUS: 'o'.repeat(16) },
      {
        HOOKSTREAM_OPS_TOKEN: 'o'.repeat(16),
        HOOKSTREAM_OPS_TOKEN_PREVIOUS: required.HOOKSTREAM_ADMIN_TOKEN,
      },
    ];
    for (const same of sameTokens) {
      expect(problemsOf({ ...required, ...same })).toEqual([
        expect.stringMatching(/^HOOKSTREAM_OPS_TOKEN: must differ from HOOKSTREAM_ADMIN_TOKEN/),
      ]);
    }
    expect(problemsOf({ ...required, HOOKSTREAM_OPS_TOKEN_PREVIOUS: 'p'.repeat(16) })).toEqual([
      expect.stringMatching(/^HOOKSTREAM_OPS_TOKEN_PREVIOUS: set HOOKSTREAM_OPS_TOKEN too/),
    ]);
  });

  it('holds every token, previous ones included, to the production strength rules, naming each', () => {
    expect(
      problemsOf({
        ...production,
        HOOKSTREAM_ADMIN_TOKEN_PREVIOUS: `${strong()},demo-admin-token-change-me`,
        HOOKSTREAM_OPS_TOKEN: 'o'.repeat(40),
        HOOKSTREAM_OPS_TOKEN_PREVIOUS: strong(),
      }),
    ).toEqual([
      expect.stringMatching(/^HOOKSTREAM_ADMIN_TOKEN_PREVIOUS \(item 2\): is the published demo value/),
      expect.stringMatching(/^HOOKSTREAM_OPS_TOKEN: too weak: at least 32 characters/),
    ]);
    expect(
      problemsOf({
        ...production,
        HOOKSTREAM_ADMIN_TOKEN_PREVIOUS: strong(),
        HOOKSTREAM_OPS_TOKEN: strong(),
        HOOKSTREAM_OPS_TOKEN_PREVIOUS: `${strong()},${strong()}`,
      }),
    ).toEqual([]);
  });
});

import { randomBytes } from 'node:crypto';
import { bootWarnings } from './boot-warnings';
import { loadConfig } from './config';

const base = {
  HOOKSTREAM_ADMIN_TOKEN: 'unit-test-admin-token',
  HOOKSTREAM_SECRET_KEY: 'unit-test-secret-key-0123456789abcdef',
};
const warningsWith = (env: Record<string, string>) => bootWarnings(loadConfig({ ...base, ...env }));

describe('bootWarnings', () => {
  it('warns when the ops routes need the admin token and nothing else can reach them', () => {
    expect(warningsWith({ HOOKSTREAM_OPS_AUTH: 'admin' })).toEqual([
      expect.stringMatching(
        /^HOOKSTREAM_OPS_AUTH=admin with neither HOOKSTREAM_OPS_TOKEN nor OPS_PORT: Prometheus .* would need the admin token.*Set HOOKSTREAM_OPS_TOKEN .* or OPS_PORT/,
      ),
    ]);
  });

  it('warns in production, where the ops routes are behind the admin token by default', () => {
    const production = {
      NODE_ENV: 'production',
      HOOKSTREAM_ADMIN_TOKEN: 'Zq8v3LrT0mWb6XyK1pNc4HdS7gFj2eUa',
      HOOKSTREAM_SECRET_KEY: randomBytes(32).toString('base64'),
    };
    expect(warningsWith(production)).toHaveLength(1);
    expect(warningsWith({ ...production, OPS_PORT: '9464' })).toEqual([]);
  });

  it.each([
    ['an ops token is set', { HOOKSTREAM_OPS_AUTH: 'admin', HOOKSTREAM_OPS_TOKEN: 'unit-test-ops-token' }],
    ['the ops routes have a port of their own', { HOOKSTREAM_OPS_AUTH: 'admin', OPS_PORT: '9464' }],
    ['the ops routes are open on the public port', { HOOKSTREAM_OPS_AUTH: 'none' }],
    ['nothing is set outside production (auth none)', {}],
  ])('says nothing when %s', (_case, env: Record<string, string>) => {
    expect(warningsWith(env)).toEqual([]);
  });
});

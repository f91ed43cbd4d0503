import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config';

const required = { HOOKSTREAM_ADMIN_TOKEN: 'a'.repeat(16), HOOKSTREAM_SECRET_KEY: 'k'.repeat(32) };
const dir = mkdtempSync(join(tmpdir(), 'hs-kafka-security-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...required, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('Kafka TLS and SASL settings', () => {
  it('connect in plaintext without authentication by default', () => {
    const { kafka } = loadConfig(required);
    expect(kafka.ssl).toBeNull();
    expect(kafka.sasl).toBeNull();
  });

  it('read SCRAM credentials, the password from the environment or from a file', () => {
    const fromEnv = loadConfig({
      ...required,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'hookstream',
      KAFKA_SASL_PASSWORD: 's3cret',
    });
    expect(fromEnv.kafka.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'hookstream',
      password: 's3cret',
    });
    const fromFile = loadConfig({
      ...required,
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: 'hookstream',
      KAFKA_SASL_PASSWORD_FILE: file('password', 'from-file\n'),
    });
    expect(fromFile.kafka.sasl).toEqual({
      mechanism: 'scram-sha-256',
      username: 'hookstream',
      password: 'from-file',
    });
    expect(
      loadConfig({
        ...required,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
      }).kafka.sasl?.mechanism,
    ).toBe('plain');
  });

  it('refuse an unknown mechanism, missing credentials, or credentials without a mechanism', () => {
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'gssapi' })).toEqual([
      'KAFKA_SASL_MECHANISM: "gssapi" is not one of none, plain, scram-sha-256, scram-sha-512',
    ]);
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'scram-sha-256' })).toEqual([
      'KAFKA_SASL_USERNAME is required',
      'KAFKA_SASL_PASSWORD is required',
    ]);
    expect(problemsOf({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toEqual([
      'KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: set KAFKA_SASL_MECHANISM too',
    ]);
    expect(
      problemsOf({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
        KAFKA_SASL_PASSWORD_FILE: file('other', 'q'),
      }),
    ).toEqual(['KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE: set one, not both']);
    expect(
      problemsOf({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD_FILE: join(dir, 'missing'),
      }),
    ).toEqual([`KAFKA_SASL_PASSWORD_FILE: cannot read ${join(dir, 'missing')}: ENOENT`]);
  });

  it('turn TLS on with the system CAs, or with a CA file and a client certificate', () => {
    expect(loadConfig({ ...required, KAFKA_SSL: 'true' }).kafka.ssl).toEqual({});
    const ssl = loadConfig({
      ...required,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: file('ca.pem', 'CA'),
      KAFKA_SSL_CERT_FILE: file('cert.pem', 'CERT'),
      KAFKA_SSL_KEY_FILE: file('key.pem', 'KEY'),
    }).kafka.ssl;
    expect(ssl).toEqual({ ca: 'CA', cert: 'CERT', key: 'KEY' });
  });

  it('refuse TLS files without KAFKA_SSL, and a certificate without its key', () => {
    expect(problemsOf({ KAFKA_SSL_CA_FILE: file('ca2.pem', 'CA') })).toEqual([
      'KAFKA_SSL_*_FILE: set KAFKA_SSL=true too (the files are for a TLS connection)',
    ]);
    expect(problemsOf({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: file('cert2.pem', 'CERT') })).toEqual([
      'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE: set both (mTLS) or neither',
    ]);
    expect(problemsOf({ KAFKA_SSL: 'maybe' })).toEqual(['KAFKA_SSL: "maybe" is not true or false']);
  });
});

describe('delivery task MACs', () => {
  it('refuse tasks without a MAC unless a rolling upgrade asks otherwise', () => {
    expect(loadConfig(required).security.acceptUnsealedTasks).toBe(false);
    expect(
      loadConfig({ ...required, HOOKSTREAM_ACCEPT_UNSEALED_TASKS: 'true' }).security.acceptUnsealedTasks,
    ).toBe(true);
  });
});

import { readFileSync } from 'node:fs';

/** TLS to the brokers: the CA that signs them (the system's when absent), and a client certificate for mTLS. */
export interface KafkaTls {
  ca?: string;
  cert?: string;
  key?: string;
}

export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
const MECHANISMS: readonly KafkaSaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

export interface KafkaSasl {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: string;
}

export interface KafkaSecurity {
  /** null: plaintext connections. */
  ssl: KafkaTls | null;
  /** null: no authentication (an open broker). */
  sasl: KafkaSasl | null;
}

type Env = Record<string, string | undefined>;
export type EnvReader = <T>(name: string, fallback: string | undefined, parse: (raw: string) => T) => T;

/**
 * How Hookstream authenticates to Kafka (docs/security.md, "Kafka authentication"): TLS from
 * KAFKA_SSL and its _FILE variables, SASL from KAFKA_SASL_*. Files are read here, once at boot, so
 * a missing certificate or password file stops the process naming the variable.
 */
export function readKafkaSecurity(env: Env, read: EnvReader, problems: string[]): KafkaSecurity {
  const tlsOn = read('KAFKA_SSL', 'false', parseBoolean);
  const ca = read('KAFKA_SSL_CA_FILE', '', optionalFileText);
  const cert = read('KAFKA_SSL_CERT_FILE', '', optionalFileText);
  const key = read('KAFKA_SSL_KEY_FILE', '', optionalFileText);
  if (!tlsOn && [ca, cert, key].some((file) => file !== undefined)) {
    problems.push('KAFKA_SSL_*_FILE: set KAFKA_SSL=true too (the files are for a TLS connection)');
  }
  if ((cert === undefined) !== (key === undefined)) {
    problems.push('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE: set both (mTLS) or neither');
  }
  const ssl: KafkaTls | null = tlsOn
    ? {
        ...(ca !== undefined && { ca }),
        ...(cert !== undefined && { cert }),
        ...(key !== undefined && { key }),
      }
    : null;
  return { ssl, sasl: readSasl(env, read, problems) };
}

function readSasl(env: Env, read: EnvReader, problems: string[]): KafkaSasl | null {
  const mechanism = read('KAFKA_SASL_MECHANISM', 'none', (raw): KafkaSaslMechanism | null => {
    const value = raw.trim().toLowerCase();
    if (value === 'none') return null;
    if (!MECHANISMS.includes(value as KafkaSaslMechanism)) {
      throw new Error(`"${raw}" is not one of none, ${MECHANISMS.join(', ')}`);
    }
    return value as KafkaSaslMechanism;
  });
  const username = env.KAFKA_SASL_USERNAME ?? '';
  const password = env.KAFKA_SASL_PASSWORD ?? '';
  const passwordFile = env.KAFKA_SASL_PASSWORD_FILE ?? '';
  if (!mechanism) {
    const stray = Object.entries({ KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password })
      .concat([['KAFKA_SASL_PASSWORD_FILE', passwordFile]])
      .filter(([, value]) => value !== '')
      .map(([name]) => name);
    if (stray.length) problems.push(`${stray.join(', ')}: set KAFKA_SASL_MECHANISM too`);
    return null;
  }
  if (username === '') problems.push('KAFKA_SASL_USERNAME is required');
  if (password !== '' && passwordFile !== '') {
    problems.push('KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE: set one, not both');
    return null;
  }
  if (passwordFile !== '') {
    try {
      const fromFile = fileText(passwordFile).replace(/\r?\n$/, '');
      if (fromFile === '') problems.push('KAFKA_SASL_PASSWORD_FILE: the file is empty');
      return { mechanism, username, password: fromFile };
    } catch (error) {
      problems.push(`KAFKA_SASL_PASSWORD_FILE: ${(error as Error).message}`);
      return null;
    }
  }
  if (password === '') problems.push('KAFKA_SASL_PASSWORD is required');
  return { mechanism, username, password };
}

function optionalFileText(path: string): string | undefined {
  return path === '' ? undefined : fileText(path);
}

function fileText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

function parseBoolean(raw: string): boolean {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new Error(`"${raw}" is not true or false`);
}

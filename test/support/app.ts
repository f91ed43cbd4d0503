import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { createApp } from '../../src/app';
import { createLogger } from '../../src/common/logger';
import { loadConfig, type AppConfig } from '../../src/config/config';
import { BASE_DATABASE_URL } from './database';
import { connectedAdmin, deleteNamespaceTopics, testKafka, TEST_BROKERS, uniqueNamespace } from './kafka';
import { ADMIN_TOKEN, SECRET_KEY, TEST_AUTH_FAILURE_LIMIT } from './service';

export interface InProcessApp {
  url: string;
  app: INestApplication;
  config: AppConfig;
  /** Closes the app and, unless told to keep them, deletes its namespace's topics. */
  close(options?: { keepTopics?: boolean }): Promise<void>;
}

/**
 * Boots the whole service in this process (API role only: no Kafka consumers) on 127.0.0.1 and a
 * free port. Topics are still provisioned, under a unique namespace unless one is passed.
 */
export async function startApp(overrides: Record<string, string> = {}): Promise<InProcessApp> {
  const namespace = overrides.HOOKSTREAM_TOPIC_NAMESPACE ?? uniqueNamespace('api');
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'silent',
    KAFKA_BROKERS: TEST_BROKERS.join(','),
    DATABASE_URL: BASE_DATABASE_URL,
    HOOKSTREAM_ADMIN_TOKEN: ADMIN_TOKEN,
    HOOKSTREAM_SECRET_KEY: SECRET_KEY,
    HOOKSTREAM_EGRESS_ALLOWLIST: '127.0.0.0/8,::1/128',
    HOOKSTREAM_ROLES: 'api',
    HOOKSTREAM_INPUT_TOPICS: `${namespace}.input`,
    HOOKSTREAM_INPUT_PARTITIONS: '1',
    HOOKSTREAM_DELIVERY_PARTITIONS: '1',
    HOOKSTREAM_RETRY_DELAYS: '1s',
    HOOKSTREAM_AUTH_FAILURE_LIMIT: TEST_AUTH_FAILURE_LIMIT,
    ...overrides,
    HOOKSTREAM_TOPIC_NAMESPACE: namespace,
  });
  const app = await createApp(config, createLogger(config.logLevel));
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    config,
    async close({ keepTopics = false } = {}) {
      await app.close();
      if (keepTopics) return;
      const admin = await connectedAdmin(testKafka());
      try {
        await deleteNamespaceTopics(admin, namespace, config.kafka.inputTopics);
      } finally {
        await admin.disconnect();
      }
    },
  };
}

/** Bodies are JSON of whatever shape the route answers; tests assert on them loosely. */

type Json = any;

export interface ApiResponse<T = Json> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiRequest {
  token?: string;
  body?: unknown;
  /** Sent as is, with content-type application/json (for malformed or oversized bodies). */
  rawBody?: string;
}

/** A small JSON client for the in-process app; every call goes to 127.0.0.1 only. */
export function apiClient(baseUrl: string) {
  return async function call<T = Json>(
    method: string,
    path: string,
    { token, body, rawBody }: ApiRequest = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : null) as T,
      headers: response.headers,
    };
  };
}

export type ApiCall = ReturnType<typeof apiClient>;

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BASE_DATABASE_URL } from './database';
import { TEST_BROKERS } from './kafka';
import { GiveUp, waitFor } from './wait';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const SECRET_KEY = 'test-secret-key-0123456789abcdef0123456789';
/**
 * Every test client is 127.0.0.1, so the brake on failed authentications (20 a minute per address
 * by default) would turn one file's deliberate bad credentials into 429s for its later requests.
 * Tests boot with a limit no test reaches; test/security sets the real one to test the brake.
 */
export const TEST_AUTH_FAILURE_LIMIT = '1000000';
const ROOT = join(__dirname, '..', '..');
/** The service's Node flags (its heap cap), from package.json like `npm start` uses them. */
const SERVICE_NODE_OPTIONS: string[] = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { config: { node_options: string } }
).config.node_options
  .split(' ')
  .filter(Boolean);
export const ARTIFACTS = join(ROOT, 'test-artifacts');

export interface RunningService {
  url: string;
  port: number;
  process: ChildProcess;
  logs: Array<Record<string, unknown>>;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, no shutdown hooks. */
  kill(): Promise<void>;
}

/** Boots the built service (`dist/main.js`) as a user would: a child process configured by env. */
export async function startService(
  env: Record<string, string>,
  { label = 'service', readyTimeoutMs = 60_000 }: { label?: string; readyTimeoutMs?: number } = {},
): Promise<RunningService> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const logFile = createWriteStream(join(ARTIFACTS, `${label}-${Date.now()}.log`));
  const child = spawn(process.execPath, [...SERVICE_NODE_OPTIONS, join(ROOT, 'dist', 'main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      DATABASE_URL: BASE_DATABASE_URL,
      HOOKSTREAM_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKSTREAM_SECRET_KEY: SECRET_KEY,
      HOOKSTREAM_EGRESS_ALLOWLIST: '127.0.0.0/8,::1/128',
      HOOKSTREAM_AUTH_FAILURE_LIMIT: TEST_AUTH_FAILURE_LIMIT,
      // One process, as each test and phase was written for (its pid, its log lines); the workers
      // of the default `auto` are tested and measured where a test or phase says so.
      HOOKSTREAM_WORKERS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    logFile.write(`${line}\n`);
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line });
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    logFile.write(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  // Not at 'exit': lines still buffered in its stdout arrive after it, and a write after end throws.
  child.once('close', () => logFile.end());

  const ready = await waitFor(
    () => {
      if (exitCode !== undefined) throw new GiveUp(`service exited with ${exitCode}: ${stderr.slice(-2000)}`);
      return logs.find((entry) => entry.msg === 'hookstream ready');
    },
    { timeoutMs: readyTimeoutMs, what: `${label} to log "hookstream ready"` },
  ).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\nstderr: ${stderr.slice(-2000)}`);
  });
  const port = Number(ready.port);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    logs,
    async stop() {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (exitCode !== undefined) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs the service expecting it to refuse to start; resolves with its exit code and output. */
export function runServiceExpectingFailure(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  return runToExit(
    [...SERVICE_NODE_OPTIONS, join(ROOT, 'dist', 'main.js')],
    { HOST: '127.0.0.1', ...env },
    'service',
    timeoutMs,
  );
}

/**
 * Runs `node <args>` with only PATH and `env` until it exits; resolves with its exit code and
 * output, or rejects (after killing it) if it has not exited within `timeoutMs`.
 */
export function runToExit(
  args: string[],
  env: Record<string, string>,
  what: string,
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not exit within ${timeoutMs} ms; output: ${output.slice(-2000)}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

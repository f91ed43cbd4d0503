import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BASE_DATABASE_URL } from './db';
import { BROKERS } from './kafka';

export const ROOT = join(__dirname, '..', '..');
/** The service's Node flags (its heap cap), from package.json like `npm start` uses them. */
export const SERVICE_NODE_OPTIONS: string[] = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { config: { node_options: string } }
).config.node_options
  .split(' ')
  .filter(Boolean);
export const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const SECRET_KEY = 'bench-secret-key-0123456789abcdef0123456789';
const LOG_DIR = join(ROOT, 'test-artifacts', 'bench');

export interface Service {
  url: string;
  pid: number;
  process: ChildProcess;
  logs: Array<Record<string, unknown>>;
  /** Its whole output (stdout and stderr), as written: `logs` keeps only the latest lines. */
  logPath: string;
  /** Peak resident set size so far (VmHWM) of its largest process (itself or a worker), in MB. */
  peakRssMb(): number;
  /** The sum of the peaks of the service and its workers, in MB. */
  peakRssSumMb(): number;
  stop(): Promise<void>;
  /** SIGKILL: a crash, no shutdown hooks. */
  kill(): Promise<void>;
}

/** Builds the service with `nest build` when dist/main.js is missing or older than any file in src/. */
export async function ensureServiceBuilt(): Promise<void> {
  const main = join(ROOT, 'dist', 'main.js');
  // Another engineer's `nest build` empties dist/ for a few seconds: wait for it before building.
  await until(() => existsSync(main), 60_000, 500);
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  console.log('[bench] building the publisher library and the service (npm run build)');
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('nest build failed');
}

function newestMtime(dir: string): number {
  let newest = 0;
  const walk = (path: string): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else if (path.endsWith('.ts') && !path.endsWith('.spec.ts')) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

/** Boots `node dist/main.js` as a child configured by env; resolves once it logs "hookstream ready". */
export async function startService(
  env: Record<string, string>,
  {
    label,
    readyTimeoutMs = 60_000,
    nodeArgs = [],
    distDir = join(ROOT, 'dist'),
  }: {
    label: string;
    readyTimeoutMs?: number;
    nodeArgs?: string[];
    /** Another build of the service (an older commit's, to compare with). */
    distDir?: string;
  },
): Promise<Service> {
  await until(() => existsSync(join(distDir, 'main.js')), 60_000, 500);
  mkdirSync(LOG_DIR, { recursive: true });
  const logPath = join(LOG_DIR, `${label}-${Date.now()}.log`);
  const logFile = createWriteStream(logPath);
  const child = spawn(process.execPath, [...SERVICE_NODE_OPTIONS, ...nodeArgs, join(distDir, 'main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: BROKERS.join(','),
      DATABASE_URL: BASE_DATABASE_URL,
      HOOKSTREAM_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKSTREAM_SECRET_KEY: SECRET_KEY,
      HOOKSTREAM_EGRESS_ALLOWLIST: '127.0.0.0/8',
      // Every bench client is 127.0.0.1: past 20 failed authentications a minute (the chaos run's
      // garbage keys) the brake would answer 429 to the honest publishers on that address too.
      HOOKSTREAM_AUTH_FAILURE_LIMIT: '1000000',
      // One process, as each test and phase was written for (its pid, its log lines); the workers
      // of the default `auto` are tested and measured where a test or phase says so.
      HOOKSTREAM_WORKERS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let exited = false;
  let lastPeakMb = 0;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  // Not at 'exit': lines still buffered in its stdout arrive after it (a chaos run crashed writing one).
  child.once('close', () => logFile.end());
  createInterface({ input: child.stdout }).on('line', (line) => {
    logFile.write(`${line}\n`);
    if (logs.length > 5000) logs.splice(0, 1000);
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line });
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    logFile.write(chunk);
  });

  const deadline = Date.now() + readyTimeoutMs;
  let port: number | undefined;
  while (port === undefined) {
    const ready = logs.find((entry) => entry.msg === 'hookstream ready');
    if (ready) port = Number(ready.port);
    else if (exited) throw new Error(`${label} exited before it was ready: ${stderr.slice(-2000)}`);
    else if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label} not ready within ${readyTimeoutMs} ms: ${stderr.slice(-2000)}`);
    } else await sleep(50);
  }
  const pid = child.pid!;
  /** Peak RSS by process (the service and its workers), as last read. */
  const peaks = new Map<number, number>();
  const readPeaks = (): void => {
    if (exited) return;
    for (const each of [pid, ...childrenOf(pid)])
      peaks.set(each, Math.max(peaks.get(each) ?? 0, peakOf(each)));
  };
  /** The largest process's peak: the heap cap and the memory target are per process. */
  const peakRssMb = (): number => {
    readPeaks();
    lastPeakMb = Math.max(lastPeakMb, ...peaks.values(), 0);
    return lastPeakMb;
  };
  /** The sum of every process's peak: an upper bound of the service's memory with its workers. */
  const peakRssSumMb = (): number => {
    readPeaks();
    return [...peaks.values()].reduce((sum, each) => sum + each, 0);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    process: child,
    logs,
    logPath,
    peakRssMb,
    peakRssSumMb,
    async stop() {
      if (exited) return;
      peakRssMb();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exitPromise;
      clearTimeout(timer);
    },
    async kill() {
      if (exited) return;
      peakRssMb();
      child.kill('SIGKILL');
      await exitPromise;
    },
  };
}

/** A process's peak resident set size (VmHWM) in MB; 0 once it is gone. */
function peakOf(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0; // gone between the listing and the read
  }
}

/** The live children of a process (a service's workers), from /proc. */
export function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const after = readFileSync(`/proc/${entry}/stat`, 'utf8').split(')').pop()!.trim().split(' ');
      if (Number(after[1]) === parent) children.push(Number(entry));
    } catch {
      // the process ended between the listing and the read
    }
  }
  return children;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `probe` is true or the deadline passes; returns whether it became true. */
export async function until(probe: () => boolean, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}

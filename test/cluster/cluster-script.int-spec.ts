import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ApiClient } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  TEST_BROKERS,
  connectedAdmin,
  deleteNamespaceTopics,
  testKafka,
  uniqueNamespace,
} from '../support/kafka';
import { ADMIN_TOKEN, ARTIFACTS, SECRET_KEY } from '../support/service';
import { GiveUp, waitFor } from '../support/wait';

const ROOT = join(__dirname, '..', '..');
const DELIVERY_PARTITIONS = 4;

interface ReplicaInView {
  id: string;
  host: string;
  pid: number;
  live: boolean;
  partitions: number[];
}

interface ClusterView {
  answeredBy: string;
  replicas: ReplicaInView[];
}

/**
 * `npm run cluster` as a developer runs it: scripts/cluster.sh boots two replicas of the built
 * service on the real Kafka and PostgreSQL (this test's own topics and database), they share the
 * delivery partitions, and one SIGTERM to the script stops them both before it exits.
 */
describe('scripts/cluster.sh', () => {
  const namespace = uniqueNamespace('cluster');
  let database: TestDatabase | undefined;
  let cluster: ClusterScript | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await cluster?.cleanUp();
    const admin = await connectedAdmin(testKafka());
    await deleteNamespaceTopics(admin, namespace);
    await admin.disconnect();
    await database?.drop();
  });

  it('runs two replicas that split the delivery partitions, and stops both on SIGTERM', async () => {
    const basePort = await freePortPair();
    const urls = [basePort, basePort + 1].map((port) => `http://127.0.0.1:${port}`);
    cluster = new ClusterScript(['--replicas', '2', '--no-build', '--base-port', String(basePort)], {
      DATABASE_URL: database!.url,
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      HOOKSTREAM_TOPIC_NAMESPACE: namespace,
      HOOKSTREAM_INPUT_TOPICS: `${namespace}.input`,
      HOOKSTREAM_INPUT_PARTITIONS: '2',
      HOOKSTREAM_DELIVERY_PARTITIONS: String(DELIVERY_PARTITIONS),
      HOOKSTREAM_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKSTREAM_SECRET_KEY: SECRET_KEY,
      HOOKSTREAM_CLUSTER_LOG_DIR: join(ARTIFACTS, `cluster-${namespace}`),
    });
    const running = cluster;

    await waitFor(
      async () => {
        running.assertRunning();
        return (await Promise.all(urls.map((url) => answers(`${url}/readyz`, 200)))).every(Boolean);
      },
      {
        timeoutMs: 150_000,
        intervalMs: 250,
        what: () => `GET /readyz answering 200 on ${urls.join(' and ')}\n${running.describe()}`,
      },
    );

    const api = new ApiClient(urls[0]);
    let last: ClusterView | undefined;
    await waitFor(
      async () => {
        running.assertRunning();
        last = await api.ok<ClusterView>('GET', '/v1/ops/cluster');
        return last.answeredBy.startsWith('replica-1-') && splitBetweenTwo(last.replicas);
      },
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: () =>
          `replica-1 to list live replica-1 and replica-2 owning disjoint partitions that cover ` +
          `0..${DELIVERY_PARTITIONS - 1}, each some; last answer: ${JSON.stringify(last)}`,
      },
    );

    const byNumber = (a: number, b: number): number => a - b;
    const pids = last!.replicas.filter((replica) => replica.live).map((replica) => replica.pid);
    expect(running.replicaPids().sort(byNumber)).toEqual(pids.sort(byNumber));
    const exitCode = await running.terminate(60_000);
    expect({ exitCode, output: exitCode === 0 ? '' : running.describe() }).toEqual({
      exitCode: 0,
      output: '',
    });
    // Checked once, not polled: the script must not exit before its replicas have.
    expect(pids.filter(isRunning)).toEqual([]);
    expect(await Promise.all(urls.map((url) => answers(`${url}/healthz`)))).toEqual([false, false]);
  });
});

/** Exactly replica-1 and replica-2 live, each owning some partitions, none owned twice, none unowned. */
function splitBetweenTwo(replicas: ReplicaInView[]): boolean {
  const live = replicas.filter((replica) => replica.live);
  const hosts = live.map((replica) => replica.host).sort();
  if (hosts.join() !== 'replica-1,replica-2') return false;
  if (!live.every((replica) => replica.id.startsWith(`${replica.host}-`) && replica.partitions.length > 0))
    return false;
  const owned = live.flatMap((replica) => replica.partitions).sort((a, b) => a - b);
  return owned.join() === Array.from({ length: DELIVERY_PARTITIONS }, (_, index) => index).join();
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 only checks that the process exists
    return true;
  } catch {
    return false;
  }
}

/** Whether `url` answers at all (with `status`, when given); a refused connection is `false`. */
async function answers(url: string, status?: number): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return status === undefined || response.status === status;
  } catch {
    return false;
  }
}

/**
 * A port P with P and P+1 both free (the script's two replicas listen on them), below the
 * ephemeral range. A port listen(0) hands out comes from that range, which is also where the next
 * outgoing connection of a parallel test gets its source port: one took the pair's port in the
 * seconds before the replica bound it (EADDRINUSE, seen once in CI).
 */
async function freePortPair(): Promise<number> {
  const below = ephemeralRangeStart();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (below - 10_001));
    const free = async (candidate: number) => (await listenBriefly(candidate).catch(() => null)) !== null;
    if ((await free(port)) && (await free(port + 1))) return port;
  }
  throw new Error(`found no two consecutive free ports below ${below} in 50 attempts`);
}

/** The first port the kernel gives outgoing connections (Linux's default 32768 elsewhere). */
function ephemeralRangeStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const port = Number(start);
    return Number.isInteger(port) && port > 10_100 ? port : 32_768;
  } catch {
    return 32_768;
  }
}

function listenBriefly(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

/** scripts/cluster.sh as a child process, its output kept for failure messages. */
class ClusterScript {
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private output = '';
  private readonly logDir: string | undefined;

  constructor(args: string[], env: Record<string, string>) {
    this.logDir = env.HOOKSTREAM_CLUSTER_LOG_DIR;
    this.child = spawn('bash', ['scripts/cluster.sh', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    void this.exited.then((code) => (this.exitCode = code));
  }

  /** For a waitFor probe: stop waiting at once if the script has exited. */
  assertRunning(): void {
    if (this.exitCode !== undefined)
      throw new GiveUp(`cluster.sh exited with ${this.exitCode}\n${this.describe()}`);
  }

  /** SIGTERM, then the exit code, or a failure after `timeoutMs`. */
  async terminate(timeoutMs: number): Promise<number | null> {
    this.child.kill('SIGTERM');
    return waitFor(() => (this.exitCode === undefined ? undefined : { code: this.exitCode }), {
      timeoutMs,
      intervalMs: 100,
      what: () => `cluster.sh to exit after SIGTERM\n${this.describe()}`,
    }).then(({ code }) => code);
  }

  /** After the test, passed or not: no script and none of the replicas it started left running. */
  async cleanUp(): Promise<void> {
    if (this.exitCode === undefined) {
      await this.terminate(60_000).catch(() => {
        this.child.kill('SIGKILL');
        return this.exited;
      });
    }
    for (const pid of this.replicaPids().filter(isRunning)) process.kill(pid, 'SIGKILL');
  }

  /** The pids the script printed as it started each replica. */
  replicaPids(): number[] {
    return [...this.output.matchAll(/starting replica-\d+ on :\d+ \(pid (\d+)/g)].map((match) =>
      Number(match[1]),
    );
  }

  /** The script's output and the tail of each replica's log. */
  describe(): string {
    const logs =
      this.logDir && existsSync(this.logDir)
        ? readdirSync(this.logDir).map((name) => {
            const lines = readFileSync(join(this.logDir!, name), 'utf8').trimEnd().split('\n');
            return `--- ${name} (last lines)\n${lines.slice(-15).join('\n')}`;
          })
        : [];
    return [`--- cluster.sh output\n${this.output.slice(-4000)}`, ...logs].join('\n');
  }
}

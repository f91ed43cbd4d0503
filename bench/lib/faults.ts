import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Kafka, Message, Producer } from 'kafkajs';
import { ROOT, sleep } from './service';
import { round } from './stats';

/** How long one `scripts/infra.sh` step may take before it is killed. */
const INFRA_STEP_LIMIT_MS = 240_000;

/**
 * Whether an endpoint's receiver fails this event's first attempt: deterministic per event and
 * endpoint (a hash, not a coin), so a rerun injects the same failures.
 */
export function failsFirstAttempt(path: string, id: string, rate: number): boolean {
  if (rate <= 0) return false;
  const hash = createHash('sha1').update(`${path}|${id}`).digest();
  return hash.readUInt32BE(0) / 0xffffffff < rate;
}

/**
 * Runs `bash scripts/infra.sh <command>` (bounded to 4 minutes); resolves with its exit code. The
 * script reads HOOKSTREAM_KAFKA_PORT from this process's environment: which broker it restarts.
 */
export function infra(command: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(ROOT, 'scripts', 'infra.sh'), command], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), INFRA_STEP_LIMIT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

/** Number of records in a topic (sum of high watermarks minus low watermarks). */
export async function countTopic(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Seconds since `t0` (ms), to a tenth. */
export function secondsSince(t0: number): number {
  return round((Date.now() - t0) / 1000, 1);
}

/**
 * Sends `messages` with acks=all, retrying every 500 ms through a broker restart for up to 5
 * minutes: only acknowledged events count in a chaos ledger. Returns the failed tries.
 */
export async function sendUntilAcknowledged(
  producer: Producer,
  topic: string,
  messages: Message[],
  log: (line: string) => void,
): Promise<number> {
  const deadline = Date.now() + 300_000;
  for (let retries = 0; ; retries++) {
    try {
      await producer.send({ topic, acks: -1, messages });
      return retries;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      if (retries % 10 === 0) log(`send failed (${(error as Error).message}); retrying`);
      await sleep(500);
    }
  }
}

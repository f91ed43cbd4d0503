import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

const ROOT = join(__dirname, '..', '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a reconciliation example as a client would, against the live service. */
function runExample(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const EXAMPLES: Array<[string, string, string]> = [
  ['Node', process.execPath, 'docs/examples/reconcile.mjs'],
  ['Python', 'python3', 'docs/examples/reconcile.py'],
];

/**
 * docs/migrating-from-polling.md: the reconciliation examples a client runs against the events feed
 * find the one event its "processed" list lacks, and a second run from the saved cursor sees only
 * what came since.
 */
describe('the reconciliation examples of docs/migrating-from-polling.md, against a live stack', () => {
  let stack: Stack;
  let dir: string;
  beforeAll(async () => {
    stack = await startStack('reconcile');
    dir = mkdtempSync(join(tmpdir(), 'hookstream-reconcile-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await stopStack(stack);
  });

  it.each(EXAMPLES)(
    '%s: lists the event not processed, exits 1, and resumes from its cursor',
    async (_, command, script) => {
      const tenant = await stack.api.createTenant(`Reconcile ${script}`);
      const path = `/reconcile/${tenant.id}`;
      stack.receiver.respond(path, { status: 204 });
      await tenant.client.ok('POST', '/v1/endpoints', {
        url: stack.receiver.url(path),
        eventTypes: ['record.*'],
      });
      const events = Array.from({ length: 12 }, (_, i) =>
        structuredEvent(tenant.id, 'record.updated', { i }),
      );
      await stack.producer.send({
        topic: stack.inputTopic,
        acks: -1,
        messages: events.map((event) => event.message),
      });

      // What the client's endpoint received, minus one event its processing "lost".
      const received = await waitFor(
        () => {
          const ids = new Set(stack.receiver.on(path).map((request) => request.headers['webhook-id']));
          return ids.size === events.length ? [...ids] : null;
        },
        { what: `${events.length} deliveries at ${path}` },
      );
      // The feed is written behind the fan-out: reconciliation runs after the fact, as a client's job would.
      await waitFor(
        async () =>
          (await tenant.client.ok('GET', '/v1/events?limit=100')).data.length === events.length ? true : null,
        { what: `${events.length} events in the feed` },
      );
      const lost = events[5].id;
      const processedFile = join(dir, `${tenant.id}.txt`);
      writeFileSync(processedFile, received.filter((id) => id !== lost).join('\n') + '\n');
      const cursorFile = join(dir, `${tenant.id}.cursor`);
      const env = { HOOKSTREAM_URL: stack.service.url, HOOKSTREAM_API_KEY: tenant.apiKey };
      const args = [script, '--received', processedFile, '--cursor-file', cursorFile, '--types', 'record.*'];

      const first = await runExample(command, args, env);
      expect(first.stderr).toBe('');
      expect(first.stdout.split('\n').filter((line) => line.startsWith('missing '))).toEqual([
        expect.stringMatching(new RegExp(`^missing ${lost} record\\.updated \\d{4}-`)),
      ]);
      expect(first.stdout).toContain(`checked ${events.length} events, 1 missing`);
      expect(first.code).toBe(1);

      // Processed now; the next run starts at the saved cursor and sees only the event published since.
      writeFileSync(processedFile, received.join('\n') + '\n');
      const later = structuredEvent(tenant.id, 'record.updated', { later: true });
      await stack.producer.send({ topic: stack.inputTopic, acks: -1, messages: [later.message] });
      const second = await waitFor(
        async () => {
          const run = await runExample(command, args, env);
          return run.stdout.includes('checked 1 events') ? run : null;
        },
        { what: `${script} to see the event published after its first run` },
      );
      expect(second.stdout).toContain(`missing ${later.id} record.updated`);
      expect(second.stdout).toContain('checked 1 events, 1 missing');
      expect(second.code).toBe(1);
    },
  );
});

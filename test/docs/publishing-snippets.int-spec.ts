import { randomBytes, randomUUID } from 'node:crypto';
import * as publisherLibrary from '@hookstream/publisher';
import * as pg from 'pg';
import * as ts from 'typescript';
import { PUBLISHING_GUIDE } from './documents';
import { fencedBlocks } from './markdown';
import { BASE_DATABASE_URL } from '../support/database';
import { collectTopic, connectedAdmin, testKafka } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * The publishing guide's two library snippets (marked `<!-- snippet: direct -->` and
 * `<!-- snippet: outbox -->`) run as written against the real broker and PostgreSQL, each with its
 * own topic, tenant and outbox table; the event each publishes must reach the topic.
 */
const LIBRARIES: Record<string, unknown> = { '@hookstream/publisher': publisherLibrary, pg };

function snippet(name: string): string {
  const marker = PUBLISHING_GUIDE.lines.findIndex((line) => line.trim() === `<!-- snippet: ${name} -->`);
  if (marker < 0) throw new Error(`docs/publishing-events.md has no "<!-- snippet: ${name} -->"`);
  const block = fencedBlocks(PUBLISHING_GUIDE).find((candidate) => candidate.line === marker + 2);
  if (!block) throw new Error(`no fenced block right after the ${name} snippet marker (line ${marker + 1})`);
  return block.lines.map(({ text }) => text).join('\n');
}

/** Runs a snippet as a module body: its imports bound to the libraries, its top-level awaits awaited. */
async function run(code: string): Promise<Record<string, any>> {
  const bindings: string[] = [];
  const body = code.replace(
    /^import \{([^}]+)\} from '([^']+)';$/gm,
    (_line, names: string, from: string) => {
      if (!(from in LIBRARIES))
        throw new Error(`the snippet imports ${from}, which this test does not provide`);
      bindings.push(`const {${names}} = libraries[${JSON.stringify(from)}];`);
      return '';
    },
  );
  const declared = [...body.matchAll(/^const (\w+) =/gm)].map((m) => m[1]);
  const wrapped = `(async (libraries) => {\n${bindings.join('\n')}\n${body}\nreturn { ${declared.join(', ')} };\n})`;
  const js = ts.transpileModule(wrapped, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
  const fn = (0, eval)(js) as (libraries: Record<string, unknown>) => Promise<Record<string, any>>;
  return fn(LIBRARIES);
}

describe('docs/publishing-events.md: the library snippets run as written', () => {
  const saved = { ...process.env };
  const kafka = testKafka('publishing-snippets');

  afterEach(() => {
    process.env = { ...saved };
  });

  it.each(['direct', 'outbox'])('the %s snippet publishes its event to the input topic', async (name) => {
    const topic = `t-snippet-${name}-${randomBytes(4).toString('hex')}`;
    const tenantId = randomUUID();
    const admin = await connectedAdmin(kafka);
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const collected = await collectTopic(kafka, topic);
    const table = `snippet_outbox_${randomBytes(4).toString('hex')}`;
    Object.assign(process.env, {
      HOOKSTREAM_INPUT_TOPIC: topic,
      TENANT_ID: tenantId,
      DATABASE_URL: BASE_DATABASE_URL,
      OUTBOX_TABLE: table,
    });
    let scope: Record<string, any> = {};
    try {
      scope = await run(snippet(name));
      const [message] = await waitFor(() => (collected.messages.length > 0 ? collected.messages : null), {
        timeoutMs: 60_000,
        what: `the ${name} snippet's event on ${topic}`,
      });
      expect(message.key).toBe(tenantId);
      expect(JSON.parse(message.value!)).toMatchObject({
        type: 'record.updated',
        tenantid: tenantId,
        data: { recordId: '8812', status: 'active' },
      });
    } finally {
      await scope.relay?.stop();
      if (scope.pool) {
        await scope.pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_records`);
        await scope.pool.end();
      }
      await collected.stop();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});

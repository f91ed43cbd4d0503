import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { buildCloudEvent, InvalidEventError, TENANT_ID_PATTERN } from '@hookstream/publisher';
import { buildEventCorpus, MAX_EVENT_BYTES, type EventCase } from '../bad-input/hostile-corpus';
import { SeededRandom } from '../support/seeded-random';

/**
 * The library refuses what the service refuses: every structured-mode case of the hostile corpus
 * (issue 15) that a typed caller can express (attribute and data values, not undecodable bytes),
 * handed to the library as values, must be accepted when the service delivers it and refused with
 * one of the service's reasons when the service dead-letters it. No I/O: it sits with the
 * integration tests because it judges the library by the service's corpus.
 */
const ATTRIBUTES = ['id', 'type', 'source', 'subject', 'time'] as const;

function asLibraryInput(testCase: EventCase): Record<string, unknown> | null {
  const value = testCase.kafka?.value;
  if (!Buffer.isBuffer(value) || !isUtf8(value)) return null;
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  } catch {
    return null; // bytes that are not JSON: a caller of the library hands values, never bytes
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return null;
  // `null` means "not given" to a typed caller (the library then generates an id or uses its source).
  if (ATTRIBUTES.some((name) => event[name] === null)) return null;
  // A well-formed tenant id the service does not know: only its database can tell.
  if (testCase.refuse?.reasons.includes('unknown_tenant') && TENANT_ID_PATTERN.test(String(event.tenantid))) {
    return null;
  }
  const input: Record<string, unknown> = { tenantId: event.tenantid, data: event.data };
  for (const name of ATTRIBUTES) if (event[name] !== undefined) input[name] = event[name];
  return input;
}

describe('@hookstream/publisher refuses what the service refuses (hostile corpus, structured edge)', () => {
  const corpus = buildEventCorpus({
    tenantId: randomUUID(),
    otherTenantId: randomUUID(),
    rng: new SeededRandom(18),
  });
  const cases = corpus
    .filter((c) => c.edge === 'structured' && (c.group === 'attributes' || c.group === 'data'))
    .map((c) => ({ testCase: c, input: asLibraryInput(c) }))
    .filter((c): c is { testCase: EventCase; input: Record<string, unknown> } => c.input !== null);

  it('has a corpus worth judging by', () => {
    expect(cases.filter(({ testCase }) => testCase.refuse).length).toBeGreaterThan(50);
    expect(cases.filter(({ testCase }) => testCase.deliver).length).toBeGreaterThan(10);
  });

  it('gives the service verdict for every case', () => {
    const wrong: string[] = [];
    for (const { testCase, input } of cases) {
      let refused: InvalidEventError | null = null;
      try {
        buildCloudEvent(input as never, { source: '/parity', maxEventBytes: MAX_EVENT_BYTES });
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error;
        refused = error;
      }
      if (testCase.deliver && refused)
        wrong.push(`${testCase.label}: refused (${refused.message}), the service delivers it`);
      if (testCase.refuse && !refused) wrong.push(`${testCase.label}: accepted, the service refuses it`);
      if (testCase.refuse && refused && !testCase.refuse.reasons.includes(refused.reason)) {
        wrong.push(
          `${testCase.label}: ${refused.reason}, the service says ${testCase.refuse.reasons.join(' or ')}`,
        );
      }
    }
    expect(wrong).toEqual([]);
  });
});

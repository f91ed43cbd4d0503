import { parseTopicTenants, tenantAllowedOnTopic } from './topic-tenants';

const A = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';
const B = '2a2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6c';
const TOPICS = ['hookstream.events', 'platform.events.billing', 'platform.events.crm'];

describe('parseTopicTenants', () => {
  it('reads one entry per topic: tenant UUIDs separated by |, or * for any tenant', () => {
    const allowed = parseTopicTenants(
      `hookstream.events=*, platform.events.billing=${A}|${B.toUpperCase()},platform.events.crm=*`,
      TOPICS,
    );
    expect(allowed?.get('hookstream.events')).toBe('any');
    expect(allowed?.get('platform.events.crm')).toBe('any');
    expect([...(allowed?.get('platform.events.billing') as Set<string>)]).toEqual([A, B]);
  });

  it('is no list at all (every tenant on every topic) when empty', () => {
    expect(parseTopicTenants('', TOPICS)).toBeNull();
    expect(parseTopicTenants('  ', TOPICS)).toBeNull();
  });

  it.each([
    ['platform.events.billing', 'is not topic=<tenant uuid>|<tenant uuid> or topic=*'],
    [`=${A}`, 'is not topic='],
    [
      `hookstream.events=*,platform.events.billing=not-a-uuid,platform.events.crm=*`,
      '"not-a-uuid" is not a tenant UUID',
    ],
    [`hookstream.events=*,platform.events.billing=,platform.events.crm=*`, '"" is not a tenant UUID'],
    [`hookstream.events=*,platform.events.billing=${A}|*,platform.events.crm=*`, '"*" is not a tenant UUID'],
    [
      `hookstream.events=*,platform.events.bill=${A},platform.events.crm=*`,
      'topic platform.events.bill is not one of HOOKSTREAM_INPUT_TOPICS',
    ],
    [
      `hookstream.events=*,platform.events.crm=*,platform.events.crm=${A}`,
      'topic platform.events.crm is listed twice',
    ],
    [`hookstream.events=*,platform.events.crm=*`, 'input topic(s) platform.events.billing not listed'],
    [
      `hookstream.events=${A},platform.events.billing=*,platform.events.crm=*`,
      'entry for hookstream.events must be hookstream.events=*',
    ],
  ])('refuses %s, naming the entry', (raw, message) => {
    expect(() => parseTopicTenants(raw, TOPICS)).toThrow(message);
  });

  it('names the whole bad entry, so the operator finds it in a long list', () => {
    expect(() => parseTopicTenants(`hookstream.events=*,platform.events.billing=${A}|oops`, TOPICS)).toThrow(
      `entry "platform.events.billing=${A}|oops"`,
    );
  });
});

describe('tenantAllowedOnTopic', () => {
  const allowed = parseTopicTenants(
    `hookstream.events=*,platform.events.billing=${A},platform.events.crm=${B}`,
    TOPICS,
  );

  it('allows a listed tenant on its topic in any letter case, and any tenant on a * topic', () => {
    expect(tenantAllowedOnTopic(allowed, 'platform.events.billing', A)).toBe(true);
    expect(tenantAllowedOnTopic(allowed, 'platform.events.billing', A.toUpperCase())).toBe(true);
    expect(tenantAllowedOnTopic(allowed, 'hookstream.events', B)).toBe(true);
  });

  it("refuses a tenant on another principal's topic, and any tenant on a topic with no entry", () => {
    expect(tenantAllowedOnTopic(allowed, 'platform.events.crm', A)).toBe(false);
    expect(tenantAllowedOnTopic(allowed, 'platform.events.billing', B)).toBe(false);
    expect(tenantAllowedOnTopic(allowed, 'somewhere.else', A)).toBe(false);
  });

  it('allows everything when there is no list', () => {
    expect(tenantAllowedOnTopic(null, 'somewhere.else', A)).toBe(true);
  });
});

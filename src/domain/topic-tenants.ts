/**
 * Which tenants' events each input topic may carry (HOOKSTREAM_INPUT_TOPIC_TENANTS). Kafka does not
 * tell a consumer which principal wrote a record; the deployment binds each principal to its own
 * input topic with ACLs, and this list binds each topic to the tenants its principal may speak for
 * (docs/security.md, "Tenants and principals").
 */
export type TopicTenants = ReadonlyMap<string, 'any' | ReadonlySet<string>>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ANY = '*';

/**
 * Parses `topic=<uuid>|<uuid>,other.topic=*`. An empty value is no list: every topic carries every
 * tenant (the check is off). Otherwise every input topic must be listed, `*` for any tenant, so a
 * topic added to HOOKSTREAM_INPUT_TOPICS later cannot be open by omission; and the first input
 * topic must be `*`, since `POST /v1/events` and the tenant notifications publish every tenant's
 * events there (the API authenticates the tenant itself). Throws naming the offending entry.
 */
export function parseTopicTenants(raw: string, inputTopics: readonly string[]): TopicTenants | null {
  if (raw.trim() === '') return null;
  const topics = new Map<string, 'any' | ReadonlySet<string>>();
  for (const entry of raw.split(',').map((part) => part.trim())) {
    const separator = entry.indexOf('=');
    if (separator < 1)
      throw new Error(`entry "${entry}" is not topic=<tenant uuid>|<tenant uuid> or topic=*`);
    const topic = entry.slice(0, separator).trim();
    const list = entry.slice(separator + 1).trim();
    if (!inputTopics.includes(topic)) {
      throw new Error(`entry "${entry}": topic ${topic} is not one of HOOKSTREAM_INPUT_TOPICS`);
    }
    if (topics.has(topic)) throw new Error(`entry "${entry}": topic ${topic} is listed twice`);
    topics.set(topic, tenantsOf(entry, list));
  }
  const unlisted = inputTopics.filter((topic) => !topics.has(topic));
  if (unlisted.length > 0) {
    throw new Error(
      `input topic(s) ${unlisted.join(', ')} not listed; every input topic needs an entry (=* allows every tenant)`,
    );
  }
  const first = inputTopics[0];
  if (topics.get(first) !== 'any') {
    throw new Error(
      `entry for ${first} must be ${first}=*: the first input topic carries POST /v1/events and ` +
        "notifications of every tenant; give the platform services' principals topics of their own",
    );
  }
  return topics;
}

function tenantsOf(entry: string, list: string): 'any' | ReadonlySet<string> {
  if (list === ANY) return 'any';
  const ids = list.split('|').map((id) => id.trim());
  const bad = ids.find((id) => !UUID.test(id));
  if (bad !== undefined) {
    throw new Error(`entry "${entry}": "${bad}" is not a tenant UUID (use * alone for any tenant)`);
  }
  return new Set(ids.map((id) => id.toLowerCase()));
}

/** Whether an event of `tenantId` may come from `topic`; no list allows everything. */
export function tenantAllowedOnTopic(allowed: TopicTenants | null, topic: string, tenantId: string): boolean {
  if (allowed === null) return true;
  const tenants = allowed.get(topic);
  // Only input topics are consumed, and all of them are listed; a topic without an entry is refused.
  if (tenants === undefined) return false;
  return tenants === 'any' || tenants.has(tenantId.toLowerCase());
}

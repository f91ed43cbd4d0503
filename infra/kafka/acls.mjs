// The topic and group ACLs of each role, for a broker started with HOOKSTREAM_KAFKA_SASL=1
// (scripts/infra.sh runs this after the broker is up; docs/security.md explains each line).
// Idempotent: creating an ACL that exists changes nothing. Connects as the broker's admin (PLAIN).
//
//   platform services (User:platform)  write and describe the input topics; nothing else
//   Hookstream (User:hookstream)        the input topics: read (fan-out), write (POST /v1/events and
//                                        endpoint-change markers), create; its own topics
//                                        (<namespace>.deliveries, .retry.*, .dlq): read, write,
//                                        create; its consumer groups (<namespace>-*): read, describe
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } =
  require('kafkajs');

const env = process.env;
const namespace = env.HOOKSTREAM_TOPIC_NAMESPACE || 'hookstream';
const inputTopics = (env.HOOKSTREAM_INPUT_TOPICS || 'platform.events').split(',').map((t) => t.trim());
const hookstream = `User:${env.HOOKSTREAM_KAFKA_HOOKSTREAM_USER || 'hookstream'}`;
const platform = `User:${env.HOOKSTREAM_KAFKA_PLATFORM_USER || 'platform'}`;
const { TOPIC, GROUP } = AclResourceTypes;
const { LITERAL, PREFIXED } = ResourcePatternTypes;
const { READ, WRITE, DESCRIBE, CREATE } = AclOperationTypes;

const allow = (principal, resourceType, resourceName, resourcePatternType, operations) =>
  operations.map((operation) => ({
    principal,
    resourceType,
    resourceName,
    resourcePatternType,
    operation,
    host: '*',
    permissionType: AclPermissionTypes.ALLOW,
  }));

const acl = [
  ...inputTopics.flatMap((topic) => allow(platform, TOPIC, topic, LITERAL, [WRITE, DESCRIBE])),
  ...inputTopics.flatMap((topic) => allow(hookstream, TOPIC, topic, LITERAL, [READ, WRITE, DESCRIBE, CREATE])),
  ...allow(hookstream, TOPIC, `${namespace}.`, PREFIXED, [READ, WRITE, DESCRIBE, CREATE]),
  ...allow(hookstream, GROUP, `${namespace}-`, PREFIXED, [READ, DESCRIBE]),
];

const kafka = new Kafka({
  clientId: 'hookstream-acls',
  brokers: [env.HOOKSTREAM_KAFKA_BOOTSTRAP || '127.0.0.1:9092'],
  sasl: { mechanism: 'plain', username: 'admin', password: env.HOOKSTREAM_KAFKA_ADMIN_PASSWORD || 'admin-secret' },
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
await admin.connect();
try {
  await admin.createAcls({ acl });
  console.log(`[acls] ${acl.length} ACLs for ${platform} and ${hookstream} (namespace ${namespace})`);
} finally {
  await admin.disconnect();
}

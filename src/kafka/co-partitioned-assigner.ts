import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';
import { assignCoPartitioned } from '../domain/partition-assignment';

const NAME = 'HookstreamCoPartitioned';
const VERSION = 1;

/**
 * A kafkajs partition assigner that gives each member the same partition indexes of every topic
 * the group reads (src/domain/partition-assignment.ts), keeping what members already own. Each
 * member reports what it owns in its join metadata (`ownedNow`), so the elected leader can be sticky.
 */
export function coPartitionedAssigner(ownedNow: () => number[]): PartitionAssigner {
  return ({ cluster }) => ({
    name: NAME,
    version: VERSION,
    async assign({ members, topics }) {
      const counts = new Map(
        topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).length]),
      );
      const partitions = Math.max(0, ...counts.values());
      const byMember = assignCoPartitioned(
        members.map(({ memberId, memberMetadata }) => ({ id: memberId, owned: ownedIn(memberMetadata) })),
        partitions,
      );
      return members.map(({ memberId }) => {
        const indexes = byMember.get(memberId) ?? [];
        const assignment = Object.fromEntries(
          topics.map((topic) => [topic, indexes.filter((index) => index < (counts.get(topic) ?? 0))]),
        );
        return {
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: VERSION,
            assignment,
            userData: Buffer.alloc(0),
          }),
        };
      });
    },
    protocol({ topics }) {
      return {
        name: NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: VERSION,
          topics,
          userData: Buffer.from(JSON.stringify(ownedNow())),
        }),
      };
    },
  });
}

function ownedIn(metadata: Buffer): number[] {
  try {
    const decoded = AssignerProtocol.MemberMetadata.decode(metadata);
    const owned: unknown = JSON.parse(decoded?.userData?.toString('utf8') || '[]');
    return Array.isArray(owned) ? owned.filter((index): index is number => Number.isInteger(index)) : [];
  } catch {
    return [];
  }
}

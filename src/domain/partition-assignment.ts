/**
 * Which member of a consumer group owns which partition index, the same index of every topic it
 * reads (co-partitioned, as Kafka Streams assigns): the deliveries topic and every retry tier are
 * keyed by endpoint id with the same partition count, so the owner of index p holds every first
 * attempt and every retry of the endpoints hashed to p (README decision 36).
 *
 * Sticky: each member keeps what it owns, up to its fair share, and only the surplus moves, so a
 * member joining or leaving moves as few partitions as it can. Pure and deterministic, so any
 * member elected to assign computes the same answer from the same input.
 */
export interface AssignmentMember {
  id: string;
  /** The partition indexes it owns now (from its last assignment). */
  owned: readonly number[];
}

export function assignCoPartitioned(
  members: readonly AssignmentMember[],
  partitions: number,
): Map<string, number[]> {
  const assignment = new Map<string, number[]>();
  if (members.length === 0) return assignment;
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const base = Math.floor(partitions / sorted.length);
  const extras = partitions % sorted.length;
  // The members that own the most keep the extra partitions, so fewer move.
  const byOwned = [...sorted].sort(
    (a, b) => validOwned(b, partitions).length - validOwned(a, partitions).length,
  );
  const quota = new Map(byOwned.map((member, index) => [member.id, base + (index < extras ? 1 : 0)]));
  const taken = new Set<number>();
  for (const member of sorted) {
    const keep = validOwned(member, partitions)
      .filter((partition) => !taken.has(partition))
      .slice(0, quota.get(member.id));
    keep.forEach((partition) => taken.add(partition));
    assignment.set(member.id, keep);
  }
  let next = 0;
  for (const member of sorted) {
    const owned = assignment.get(member.id)!;
    while (owned.length < quota.get(member.id)!) {
      while (taken.has(next)) next += 1;
      owned.push(next);
      taken.add(next);
    }
    owned.sort((a, b) => a - b);
  }
  return assignment;
}

function validOwned(member: AssignmentMember, partitions: number): number[] {
  return [...new Set(member.owned)]
    .filter((p) => Number.isInteger(p) && p >= 0 && p < partitions)
    .sort((a, b) => a - b);
}

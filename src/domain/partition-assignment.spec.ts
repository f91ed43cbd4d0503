import { assignCoPartitioned, type AssignmentMember } from './partition-assignment';

const all = (assignment: Map<string, number[]>) => [...assignment.values()].flat().sort((a, b) => a - b);

describe('assignCoPartitioned', () => {
  it('gives every partition to exactly one member, in fair shares', () => {
    const assignment = assignCoPartitioned(
      [
        { id: 'b', owned: [] },
        { id: 'a', owned: [] },
        { id: 'c', owned: [] },
      ],
      12,
    );
    expect(all(assignment)).toEqual([...Array(12).keys()]);
    expect([...assignment.values()].map((owned) => owned.length)).toEqual([4, 4, 4]);
  });

  it('keeps what each member owns when nobody joins or leaves', () => {
    const members: AssignmentMember[] = [
      { id: 'a', owned: [0, 5, 7, 9] },
      { id: 'b', owned: [1, 2, 3, 4] },
      { id: 'c', owned: [6, 8, 10, 11] },
    ];
    const assignment = assignCoPartitioned(members, 12);
    for (const member of members)
      expect(assignment.get(member.id)).toEqual([...member.owned].sort((x, y) => x - y));
  });

  it('moves only the joining member’s share when one joins', () => {
    const before = { a: [0, 1, 2, 3, 4, 5], b: [6, 7, 8, 9, 10, 11] };
    const assignment = assignCoPartitioned(
      [
        { id: 'a', owned: before.a },
        { id: 'b', owned: before.b },
        { id: 'c', owned: [] },
      ],
      12,
    );
    const moved = [...assignment.entries()].flatMap(([id, owned]) =>
      owned.filter((p) => !(before[id as 'a' | 'b'] ?? []).includes(p)),
    );
    expect(moved).toHaveLength(4);
    expect(assignment.get('c')).toHaveLength(4);
    expect(all(assignment)).toEqual([...Array(12).keys()]);
  });

  it('hands a leaving member’s partitions to the others and moves nothing else', () => {
    const assignment = assignCoPartitioned(
      [
        { id: 'a', owned: [0, 1, 2, 3] },
        { id: 'c', owned: [8, 9, 10, 11] },
      ],
      12,
    );
    expect(assignment.get('a')!.slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(assignment.get('c')).toEqual(expect.arrayContaining([8, 9, 10, 11]));
    expect(all(assignment)).toEqual([...Array(12).keys()]);
  });

  it('ignores owned indexes past the partition count and claims two members make on one partition', () => {
    const assignment = assignCoPartitioned(
      [
        { id: 'a', owned: [0, 1, 99] },
        { id: 'b', owned: [1, 2] },
      ],
      4,
    );
    expect(all(assignment)).toEqual([0, 1, 2, 3]);
    expect(assignment.get('a')).toEqual([0, 1]);
    expect(assignment.get('b')).toEqual([2, 3]);
  });

  it('is the same whatever order the members come in', () => {
    const members = [
      { id: 'x', owned: [3] },
      { id: 'y', owned: [] },
      { id: 'z', owned: [0, 1] },
    ];
    expect(assignCoPartitioned(members, 7)).toEqual(assignCoPartitioned([...members].reverse(), 7));
  });
});

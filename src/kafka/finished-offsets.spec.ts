import {
  decodeFinished,
  encodeFinished,
  FINISHED_METADATA_MAX_CHARS,
  FinishedElsewhere,
} from './finished-offsets';

function finishedOf(offset: string | null, metadata: string | null, upTo: number): number[] {
  const finished = FinishedElsewhere.fromCommit(offset, metadata);
  const found: number[] = [];
  for (let value = 0; value <= upTo; value++) if (finished.has(String(value))) found.push(value);
  return found;
}

describe('encodeFinished and decodeFinished', () => {
  it('name ranges past the committed offset, each from the end of the one before', () => {
    const metadata = encodeFinished(100n, [
      [101n, 101n],
      [103n, 140n],
    ]);

    expect(metadata).toBe('hs1;1.1,1.12');
    expect(decodeFinished(100n, metadata)).toEqual([
      [101n, 101n],
      [103n, 140n],
    ]);
  });

  it('name nothing when nothing finished past the commit', () => {
    expect(encodeFinished(5n, [])).toBeNull();
  });

  it('name only the ranges that fit, nearest first', () => {
    const ranges: Array<[bigint, bigint]> = [];
    for (let first = 10n; first < 100_000n; first += 2n) ranges.push([first, first]);

    const metadata = encodeFinished(9n, ranges)!;
    const decoded = decodeFinished(9n, metadata);

    expect(metadata.length).toBeLessThanOrEqual(FINISHED_METADATA_MAX_CHARS);
    expect(decoded.length).toBeGreaterThan(100);
    expect(decoded).toEqual(ranges.slice(0, decoded.length));
  });

  it('round-trip offsets past Number.MAX_SAFE_INTEGER exactly', () => {
    const committed = 9_223_372_036_854_775_000n;
    const ranges: Array<[bigint, bigint]> = [[9_223_372_036_854_775_001n, 9_223_372_036_854_775_806n]];

    expect(decodeFinished(committed, encodeFinished(committed, ranges))).toEqual(ranges);
  });

  it('stop at a range out of order rather than name what it cannot say', () => {
    expect(
      encodeFinished(10n, [
        [12n, 13n],
        [13n, 15n],
      ]),
    ).toBe('hs1;2.2');
  });

  it.each([
    ['none', null],
    ['empty', ''],
    ['another tool', 'consumer-tool reset'],
    ['no pairs', 'hs1;'],
    ['a zero length', 'hs1;1.0'],
    ['an upper-case digit', 'hs1;1.A'],
    ['a damaged pair', 'hs1;1.1,x'],
    ['too long', `hs1;${'1.1,'.repeat(FINISHED_METADATA_MAX_CHARS)}1.1`],
  ])('decode %s metadata as naming nothing', (_name, metadata) => {
    expect(decodeFinished(7n, metadata)).toEqual([]);
  });
});

describe('FinishedElsewhere', () => {
  it('knows every record below the commit and those its metadata names finished', () => {
    expect(finishedOf('5', 'hs1;2.2,3.1', 20)).toEqual([0, 1, 2, 3, 4, 7, 8, 12]);
  });

  it('knows nothing finished without a commit', () => {
    expect(finishedOf(null, 'hs1;2.2', 20)).toEqual([]);
    expect(finishedOf('-1', null, 20)).toEqual([]);
  });

  it('is asked in increasing order and answers for offsets fetched with gaps', () => {
    const finished = FinishedElsewhere.fromCommit('100', encodeFinished(100n, [[105n, 110n]]));

    expect(['100', '104', '106', '111', '112'].map((offset) => finished.has(offset))).toEqual([
      false,
      false,
      true,
      false,
      false,
    ]);
  });
});

import { roundsOfDistinctKeys } from './idempotency-keys.repository';

describe('roundsOfDistinctKeys', () => {
  it('puts each repeat of a tenant key in a later round, first occurrences first', () => {
    const requests = [
      { tenantId: 'T', key: 'a' },
      { tenantId: 'T', key: 'b' },
      { tenantId: 't', key: 'a' }, // the same uuid, however it is spelled
      { tenantId: 'U', key: 'a' },
      { tenantId: 'T', key: 'a' },
    ];
    expect(roundsOfDistinctKeys(requests)).toEqual([[0, 1, 3], [2], [4]]);
  });

  it('is one round when every key is distinct, none when there is nothing', () => {
    expect(
      roundsOfDistinctKeys([
        { tenantId: 'T', key: 'a' },
        { tenantId: 'T', key: 'b' },
      ]),
    ).toEqual([[0, 1]]);
    expect(roundsOfDistinctKeys([])).toEqual([]);
  });
});

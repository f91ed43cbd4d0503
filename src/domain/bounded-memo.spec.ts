import { BoundedMemo } from './bounded-memo';

describe('BoundedMemo', () => {
  it('computes a key once, and starts again past its bound', () => {
    const computed: string[] = [];
    const memo = new BoundedMemo(2, (key: string) => {
      computed.push(key);
      return key.length;
    });
    expect([memo.get('a'), memo.get('bb'), memo.get('a')]).toEqual([1, 2, 1]);
    expect(computed).toEqual(['a', 'bb']);
    memo.get('ccc'); // the third key: the memo forgets the first two
    memo.get('a');
    expect(computed).toEqual(['a', 'bb', 'ccc', 'a']);
  });
});

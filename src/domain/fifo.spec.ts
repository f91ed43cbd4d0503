import { Fifo } from './fifo';

describe('Fifo', () => {
  it('gives items back in the order they were pushed, across compactions', () => {
    const fifo = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) fifo.push(next++);
      for (let i = 0; i < 60; i++) out.push(fifo.shift()!);
    }
    while (fifo.length > 0) out.push(fifo.shift()!);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.length).toBe(0);
  });
});

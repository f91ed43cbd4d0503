import { OrderKeyGate } from './order-key-gate';

const task = (name: string, orderKey: string | null) => ({ name, orderKey });

describe('OrderKeyGate', () => {
  it('admits the first task of a key and holds the later ones in order until it is released', () => {
    const gate = new OrderKeyGate<ReturnType<typeof task>>();
    const [a1, a2, a3, b1] = [task('a1', 'a'), task('a2', 'a'), task('a3', 'a'), task('b1', 'b')];
    expect([gate.admit(a1), gate.admit(a2), gate.admit(a3), gate.admit(b1)]).toEqual([
      true,
      false,
      false,
      true,
    ]);
    expect(gate.waiting).toBe(2);
    expect(gate.release(a1)).toBe(a2);
    expect(gate.release(a2)).toBe(a3);
    expect(gate.release(a3)).toBeUndefined();
    expect(gate.waiting).toBe(0);
    // The key is free again.
    expect(gate.admit(task('a4', 'a'))).toBe(true);
  });

  it('never holds a keyless task', () => {
    const gate = new OrderKeyGate<ReturnType<typeof task>>();
    expect([gate.admit(task('x', null)), gate.admit(task('y', null))]).toEqual([true, true]);
    expect(gate.release(task('x', null))).toBeUndefined();
  });

  it('drops waiting tasks it is told to, keeping the rest in order', () => {
    const gate = new OrderKeyGate<ReturnType<typeof task>>();
    const tasks = ['1', '2', '3', '4'].map((n) => task(n, 'k'));
    for (const t of tasks) gate.admit(t);
    gate.retain((t) => t.name !== '3');
    expect(gate.waiting).toBe(2);
    expect(gate.release(tasks[0])).toBe(tasks[1]);
    expect(gate.release(tasks[1])).toBe(tasks[3]);
  });

  it('asks about each waiting task once, and a key losing all its waiting tasks frees its queue', () => {
    const gate = new OrderKeyGate<ReturnType<typeof task>>();
    const a = ['a1', 'a2', 'a3'].map((n) => task(n, 'a'));
    const b = ['b1', 'b2'].map((n) => task(n, 'b'));
    for (const t of [...a, ...b]) gate.admit(t);
    const asked: string[] = [];
    gate.retain((t) => {
      asked.push(t.name);
      return t.name !== 'b2';
    });
    expect(asked).toEqual(['a2', 'a3', 'b2']);
    expect(gate.waiting).toBe(2);
    expect(gate.release(b[0])).toBeUndefined();
    expect(gate.release(a[0])).toBe(a[1]);
    expect(gate.release(a[1])).toBe(a[2]);
  });
});

import { createHmac } from 'node:crypto';
import { decodeTask, encodeTask, type DeliveryTask } from './delivery-task';
import { deriveTaskKeys, TaskSeal, UnauthenticatedTask } from './task-seal';

const task: DeliveryTask = {
  deliveryId: '00000000-0000-5000-a000-000000000001',
  eventId: 'evt-1',
  endpointId: '11111111-1111-4111-8111-111111111111',
  tenantId: '22222222-2222-4222-8222-222222222222',
  eventType: 'record.updated',
  eventTime: '2026-01-01T00:00:00Z',
  data: { amount: 1.5, note: '"mac":"x"}' },
  publishedAtMs: 1_700_000_000_000,
};

const [current, previous] = deriveTaskKeys(['k'.repeat(32), 'p'.repeat(32)]);

describe('TaskSeal', () => {
  const seal = new TaskSeal([current]);

  it('seals a task that opens again, unchanged, and still parses as the task JSON', () => {
    const sealed = seal.seal(task);
    expect(seal.open(sealed)).toEqual({ task, sealed: true });
    expect(decodeTask(sealed)).toEqual(task);
    expect(JSON.parse(sealed.toString())).toEqual({ ...task, mac: expect.any(String) });
  });

  it('writes the bytes every reader expects: the encoded task with the MAC of exactly those bytes as its last field', () => {
    // Tasks sealed by earlier versions sit in retry tiers and held rows: the format cannot drift.
    const withText = { ...task, data: { note: 'ünïcode ✓ 😀', n: [1, 2] } };
    const raw = encodeTask(withText);
    const mac = createHmac('sha256', current)
      .update(`hookstream-task-mac-v1\u0000${task.endpointId}\u0000${task.tenantId}\u0000`)
      .update(raw)
      .digest('base64');
    const expected = Buffer.concat([raw.subarray(0, -1), Buffer.from(`,"mac":"${mac}"}`)]);
    expect(seal.seal(withText).equals(expected)).toBe(true);
    expect(seal.open(expected)).toEqual({ task: withText, sealed: true });
  });

  it('refuses a task without a MAC, and one whose bytes were changed after sealing', () => {
    expect(() => seal.open(encodeTask(task))).toThrow(UnauthenticatedTask);
    const sealed = seal.seal(task).toString();
    const tampered = Buffer.from(sealed.replace('"amount":1.5', '"amount":9.5'));
    expect(() => seal.open(tampered)).toThrow('delivery task MAC does not verify');
  });

  it('binds the MAC to the endpoint and tenant the task names', () => {
    const sealed = seal.seal(task).toString();
    const moved = Buffer.from(sealed.replace(task.endpointId, '33333333-3333-4333-8333-333333333333'));
    expect(() => seal.open(moved)).toThrow(UnauthenticatedTask);
  });

  it('refuses a task sealed under a key it does not hold, and a garbled or truncated MAC', () => {
    const foreign = new TaskSeal(deriveTaskKeys(['f'.repeat(32)])).seal(task);
    expect(() => seal.open(foreign)).toThrow(UnauthenticatedTask);
    const sealed = seal.seal(task).toString();
    for (const garbled of [
      sealed.replace(/"mac":"[^"]+"/, '"mac":"AAAA"'),
      sealed.replace(/"mac":"[^"]+"/, `"mac":"${'!'.repeat(43)}="`),
      sealed.replace(/"mac":"[^"]+"/, '"mac":null'),
    ]) {
      expect(() => seal.open(Buffer.from(garbled))).toThrow(UnauthenticatedTask);
    }
  });

  it('says a record that is not a task at all is not one (plain Error, not unauthenticated)', () => {
    for (const value of [null, Buffer.from('not json'), Buffer.from('null'), Buffer.from('{"eventId":1}')]) {
      let thrown: unknown;
      try {
        seal.open(value);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect(thrown).not.toBeInstanceOf(UnauthenticatedTask);
    }
  });

  it('accepts a previous key during a rotation and seals with the current one', () => {
    const old = new TaskSeal([previous]).seal(task);
    const rotating = new TaskSeal([current, previous]);
    expect(rotating.open(old).task).toEqual(task);
    expect(() => new TaskSeal([current]).open(old)).toThrow(UnauthenticatedTask);
    expect(() => new TaskSeal([previous]).open(rotating.seal(task))).toThrow(UnauthenticatedTask);
  });

  it('reseals a task of a previous key under the current one, and leaves a current one alone', () => {
    const rotating = new TaskSeal([current, previous]);
    const resealed = rotating.reseal(new TaskSeal([previous]).seal(task));
    expect(resealed).not.toBeNull();
    expect(new TaskSeal([current]).open(resealed).task).toEqual(task);
    expect(rotating.reseal(rotating.seal(task))).toBeNull();
    const foreign = new TaskSeal(deriveTaskKeys(['f'.repeat(32)])).seal(task);
    expect(() => rotating.reseal(foreign)).toThrow(UnauthenticatedTask);
  });

  it('takes a task without a MAC only when told to (a rolling upgrade), never a wrong MAC', () => {
    const upgrading = new TaskSeal([current], true);
    expect(upgrading.open(encodeTask(task))).toEqual({ task, sealed: false });
    const foreign = new TaskSeal(deriveTaskKeys(['f'.repeat(32)])).seal(task);
    expect(() => upgrading.open(foreign)).toThrow(UnauthenticatedTask);
  });

  it('derives a key of its own: not the raw secret key, different per key', () => {
    expect(current).toHaveLength(32);
    expect(current.equals(Buffer.from('k'.repeat(32)))).toBe(false);
    expect(current.equals(previous)).toBe(false);
  });
});

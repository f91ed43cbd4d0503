import type { Logger } from 'pino';
import { RecordWithdrawn, type ConsumedRecord } from '../domain/records';
import { TransientError } from '../domain/transient';
import { handleUntilDurable, type DurableContext } from './until-durable';

const record: ConsumedRecord = {
  topic: 'deliveries',
  partition: 3,
  offset: '42',
  key: null,
  value: Buffer.from('{}'),
  headers: {},
  timestampMs: 0,
};

function context(stopping = () => false) {
  const warn = jest.fn();
  const error = jest.fn();
  const ctx: DurableContext = { consumer: 'test', logger: { warn, error } as unknown as Logger, stopping };
  return { ctx, warn, error };
}

/** A handler that fails with each of `failures` in turn, then succeeds. */
function failingWith(...failures: Error[]) {
  const handler = jest.fn(async () => {
    const failure = failures[handler.mock.calls.length - 1];
    if (failure !== undefined) throw failure;
  });
  return handler;
}

describe('handleUntilDurable', () => {
  it('runs a handler that succeeds once, without logging a retry', async () => {
    const { ctx, warn } = context();
    const handler = failingWith();
    await handleUntilDurable(handler, record, ctx);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(warn).not.toHaveBeenCalled();
  });

  it('retries a transient failure until the handler succeeds, naming the record', async () => {
    const { ctx, warn } = context();
    const handler = failingWith(new TransientError('broker away'), new TransientError('still away'));
    const isolate = jest.fn(async () => undefined);
    await handleUntilDurable(handler, record, ctx, isolate);
    expect(handler).toHaveBeenCalledTimes(3);
    expect(isolate).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0][0]).toMatchObject({
      consumer: 'test',
      topic: 'deliveries',
      partition: 3,
      offset: '42',
    });
  });

  it('retries a handler that throws before returning a promise', async () => {
    const { ctx } = context();
    let calls = 0;
    const handler = (): Promise<void> => {
      if (++calls === 1) throw new TransientError('thrown at once');
      return Promise.resolve();
    };
    await handleUntilDurable(handler, record, ctx);
    expect(calls).toBe(2);
  });

  it('isolates a record after three non-transient failures in a row, and not before', async () => {
    const { ctx, error } = context();
    const bad = new Error('value too long for type character varying');
    const handler = failingWith(bad, bad, bad, bad);
    const isolate = jest.fn(async () => undefined);
    await handleUntilDurable(handler, record, ctx, isolate);
    expect(handler).toHaveBeenCalledTimes(3);
    expect(isolate).toHaveBeenCalledTimes(1);
    expect(isolate).toHaveBeenCalledWith(bad);
    expect(error).toHaveBeenCalledTimes(1);
  });

  it('counts non-transient failures only in a row: a transient one between starts the count again', async () => {
    const { ctx } = context();
    const bad = new Error('bad row');
    const handler = failingWith(bad, new TransientError('blip'), bad, bad);
    const isolate = jest.fn(async () => undefined);
    await handleUntilDurable(handler, record, ctx, isolate);
    expect(handler).toHaveBeenCalledTimes(5);
    expect(isolate).not.toHaveBeenCalled();
  });

  it('without an isolate step, retries a non-transient failure as any other', async () => {
    const { ctx } = context();
    const bad = new Error('bad row');
    const handler = failingWith(bad, bad, bad);
    await handleUntilDurable(handler, record, ctx);
    expect(handler).toHaveBeenCalledTimes(4);
  });

  it('gives a withdrawn record up at once, without retrying or isolating it', async () => {
    const { ctx, warn } = context();
    const handler = failingWith(new RecordWithdrawn());
    const isolate = jest.fn(async () => undefined);
    await expect(handleUntilDurable(handler, record, ctx, isolate)).rejects.toBeInstanceOf(RecordWithdrawn);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(isolate).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it('gives up once the consumer stops, leaving the failure to the caller', async () => {
    let stopping = false;
    const { ctx } = context(() => stopping);
    const failure = new TransientError('broker away');
    const handler = jest.fn(async () => {
      stopping = handler.mock.calls.length >= 2;
      throw failure;
    });
    await expect(handleUntilDurable(handler, record, ctx)).rejects.toBe(failure);
    expect(handler).toHaveBeenCalledTimes(2);
  });
});

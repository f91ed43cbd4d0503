import { EventEmitter } from 'node:events';
import { IpcLeaseChannel, type IpcPort } from './ipc-lease-channel';
import type { RateLeaseAnswer, RateLeaseRequest } from './worker-protocol';

/** A worker's end of the IPC channel: what it sends, and the supervisor's answers emitted back. */
class FakePort extends EventEmitter implements IpcPort {
  connected = true;
  readonly sent: RateLeaseRequest[] = [];

  send(message: unknown, _handle: undefined, _options: undefined, callback: (error: Error | null) => void) {
    this.sent.push(message as RateLeaseRequest);
    callback(null);
    return true;
  }

  answer(id: number, granted: number, retryAfterMs = 0): void {
    this.emit('message', {
      type: 'hookstream:rate-leased',
      id,
      granted,
      retryAfterMs,
    } satisfies RateLeaseAnswer);
  }
}

describe('IpcLeaseChannel', () => {
  let port: FakePort;
  let warnings: string[];
  let channel: IpcLeaseChannel;

  beforeEach(() => {
    jest.useFakeTimers();
    port = new FakePort();
    warnings = [];
    channel = new IpcLeaseChannel(
      { warn: (_: unknown, message: string) => void warnings.push(message) } as never,
      'ingest',
      1_000,
      port,
    );
  });
  afterEach(() => jest.useRealTimers());

  it('matches each answer to its request by id', async () => {
    const first = channel.lease('tenant-a', 5);
    const second = channel.lease('tenant-b', 5);
    expect(port.sent.map((request) => request.tenantId)).toEqual(['tenant-a', 'tenant-b']);
    port.answer(port.sent[1].id, 0, 250);
    port.answer(port.sent[0].id, 5);
    await expect(first).resolves.toEqual({ granted: 5, retryAfterMs: 0 });
    await expect(second).resolves.toEqual({ granted: 0, retryAfterMs: 250 });
    expect(warnings).toEqual([]);
  });

  it('refuses a lease the supervisor does not answer in time, with a warning, and ignores a late answer', async () => {
    const lease = channel.lease('tenant-a', 5);
    const refused = expect(lease).rejects.toThrow('did not answer a lease within 1000 ms');
    await jest.advanceTimersByTimeAsync(1_000);
    await refused;
    expect(warnings).toHaveLength(1);
    port.answer(port.sent[0].id, 5); // too late: nobody waits for it
  });

  it('refuses at once when the channel to the supervisor is closed', async () => {
    port.connected = false;
    await expect(channel.lease('tenant-a', 5)).rejects.toThrow('no supervisor');
    expect(port.sent).toEqual([]);
    expect(warnings).toHaveLength(1);
  });
});

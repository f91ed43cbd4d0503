import cluster from 'node:cluster';
import type { CollectRequest } from '../../cluster/worker-protocol';
import { flush } from '../../testing/fakes';
import { WorkerMetricsBridge } from './worker-metrics';

describe('WorkerMetricsBridge', () => {
  afterEach(() => jest.restoreAllMocks());

  it('leaves a gathering unanswered when its series fail to read, without an unhandled rejection', async () => {
    jest.replaceProperty(cluster, 'isWorker', true);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const send = jest.fn(() => true);
    const originalSend = process.send;
    process.send = send;
    const bridge = new WorkerMetricsBridge();
    let read: () => void = () => undefined;
    const reading = new Promise<void>((resolve) => (read = resolve));
    bridge.serve({
      own: () => {
        read();
        return Promise.reject(new Error('registry closed'));
      },
      cluster: () => Promise.resolve(null),
    });
    bridge.onModuleInit();
    try {
      const request: CollectRequest = { type: 'hookstream:metrics-collect', id: 3 };
      process.emit('message', request, undefined);
      await reading;
      await flush();
      await flush();

      expect(unhandled).toEqual([]);
      expect(send).not.toHaveBeenCalled();
    } finally {
      bridge.onModuleDestroy();
      process.send = originalSend;
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

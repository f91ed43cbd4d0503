import type { Worker } from 'node:cluster';
import { silentLogger, testConfig } from '../testing/fakes';
import { WorkerCounters } from './worker-counters';
import type { ScrapeAnswer, ScrapeRequest } from './worker-protocol';
import { WorkerSupervisor } from './workers';

/** The supervisor's message handler, as `cluster.on('message')` calls it after start(). */
type OnMessage = (worker: Worker, message: unknown) => void;

describe('WorkerSupervisor metrics scrape', () => {
  afterEach(() => jest.restoreAllMocks());

  it('answers a scrape whose sum fails with null at once, rather than leaving the rejection unhandled', async () => {
    jest.spyOn(WorkerCounters.prototype, 'toSum').mockRejectedValue(new Error('conflicting metric types'));
    const answers: ScrapeAnswer[] = [];
    let answered: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (answered = resolve));
    const asking = {
      isConnected: () => true,
      send: (message: ScrapeAnswer) => {
        answers.push(message);
        answered();
        return true;
      },
    } as unknown as Worker;
    const supervisor = new WorkerSupervisor(testConfig(), silentLogger);
    const request: ScrapeRequest = { type: 'hookstream:metrics-scrape', id: 7 };

    (supervisor as unknown as { onMessage: OnMessage }).onMessage(asking, request);
    await done;

    expect(answers).toEqual([{ type: 'hookstream:metrics-scraped', id: 7, text: null }]);
  }, 10_000);
});

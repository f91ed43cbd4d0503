import type { ApiClient } from './api';
import { GiveUp, waitFor } from './wait';

/** Polls a replay job until it is in `state`; fails at once if it ends in another state. */
export async function waitForJob(
  client: ApiClient,
  id: string,
  state: 'running' | 'succeeded' | 'failed' | 'cancelled',
  timeoutMs = 90_000,
): Promise<any> {
  let last: any;
  return waitFor(
    async () => {
      last = await client.ok('GET', `/v1/replay-jobs/${id}`);
      const finished = ['succeeded', 'failed', 'cancelled'].includes(last.state);
      if (finished && last.state !== state) {
        throw new GiveUp(`job ${id} ended ${last.state} (wanted ${state}): ${JSON.stringify(last)}`);
      }
      return last.state === state ? last : null;
    },
    {
      timeoutMs,
      intervalMs: 200,
      what: () => `replay job ${id} to be ${state} (last: ${JSON.stringify(last)})`,
    },
  );
}

/**
 * kafkajs 2.2.4's search for a group's coordinator, as `patches/kafkajs+2.2.4.patch` leaves it
 * (README decision 91). When every broker refuses the connection (the single broker restarting),
 * it gave up at once with a non-retriable error instead of retrying with the client's budget, and a
 * consumer rejoining its group then stopped for good (tulios/kafkajs#1630): the service exited 70
 * in a full chaos:cluster run's broker restart. These tests fail on the unpatched file.
 */
// Internal to kafkajs and untyped, like the request queue kafkajs-request-queue.spec.ts reads.
/* eslint-disable @typescript-eslint/no-require-imports */
const Cluster = require('kafkajs/src/cluster') as new (options: object) => CoordinatorSearch;
const { KafkaJSGroupCoordinatorNotFound, KafkaJSProtocolError } = require('kafkajs/src/errors') as {
  KafkaJSGroupCoordinatorNotFound: new (message: string) => Error;
  KafkaJSProtocolError: new (message: string) => Error;
};
const { createLogger, LEVELS } = require('kafkajs/src/loggers') as {
  createLogger(options: { level: number; logCreator: () => () => void }): object;
  LEVELS: { NOTHING: number };
};
/* eslint-enable @typescript-eslint/no-require-imports */

interface CoordinatorSearch {
  findGroupCoordinator(args: { groupId: string }): Promise<unknown>;
  findGroupCoordinatorMetadata(args: object): Promise<{ coordinator: { nodeId: number } }>;
  findBroker(args: { nodeId: number }): Promise<unknown>;
}

/** A cluster whose coordinator lookup fails with `failures` in turn, then finds node 1. */
function clusterFailing(failures: Error[]) {
  const cluster = new Cluster({
    logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => undefined }),
    brokers: ['127.0.0.1:9'],
    clientId: 'spec',
    retry: { initialRetryTime: 1, maxRetryTime: 2, retries: 5 },
  });
  const lookups = { count: 0 };
  cluster.findGroupCoordinatorMetadata = () => {
    const failure = failures[lookups.count++];
    return failure ? Promise.reject(failure) : Promise.resolve({ coordinator: { nodeId: 1 } });
  };
  cluster.findBroker = ({ nodeId }) => Promise.resolve({ nodeId });
  return { cluster, lookups };
}

describe("kafkajs' search for the group coordinator (patched)", () => {
  it('retries while no broker can be reached, and finds the coordinator once one answers', async () => {
    const notFound = () => new KafkaJSGroupCoordinatorNotFound('Failed to find group coordinator');
    const { cluster, lookups } = clusterFailing([notFound(), notFound(), notFound()]);

    await expect(cluster.findGroupCoordinator({ groupId: 'g' })).resolves.toEqual({ nodeId: 1 });
    expect(lookups.count).toBe(4);
  });

  it('still gives up at once on an error a retry cannot mend', async () => {
    const { cluster, lookups } = clusterFailing([new KafkaJSProtocolError('Not authorized to access group')]);

    await expect(cluster.findGroupCoordinator({ groupId: 'g' })).rejects.toThrow('Not authorized');
    expect(lookups.count).toBe(1);
  });
});

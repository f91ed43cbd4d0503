import { singleCopyTopics } from './kafka-admin';

describe('singleCopyTopics', () => {
  it('names the topics where acks=all can mean one broker', () => {
    expect(
      singleCopyTopics([
        { topic: 'platform.events', minInsync: '1' },
        { topic: 'hookstream.deliveries', minInsync: '2' },
        { topic: 'hookstream.dlq', minInsync: '3' },
        { topic: 'hookstream.retry.1.5s', minInsync: undefined },
        { topic: 'hookstream.retry.2.30s', minInsync: 'garbage' },
      ]),
    ).toEqual(['hookstream.retry.1.5s', 'hookstream.retry.2.30s', 'platform.events']);
  });
});

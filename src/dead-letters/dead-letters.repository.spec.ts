import type { DataSource } from 'typeorm';
import { DeadLettersRepository } from './dead-letters.repository';

/**
 * A list never shows a dead letter's task, and a task can be about 1 MB: a page of 101 rows that
 * read them pulled up to about 115 MB into the API process (review 8, F3).
 */
describe('DeadLettersRepository lists', () => {
  function recording(): { repository: DeadLettersRepository; statements: string[] } {
    const statements: string[] = [];
    const dataSource = {
      query: (text: string) => {
        statements.push(text);
        return Promise.resolve([]);
      },
    };
    return { repository: new DeadLettersRepository(dataSource as unknown as DataSource), statements };
  }

  it('read no task bytes for a tenant’s page', async () => {
    const { repository, statements } = recording();
    await repository.page('1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b', {}, null, 101);
    expect(statements).toHaveLength(1);
    expect(statements[0]).not.toMatch(/\btask\b/);
  });

  it('read no task bytes for the operator’s newest', async () => {
    const { repository, statements } = recording();
    await repository.latest(100);
    expect(statements).toHaveLength(1);
    expect(statements[0]).not.toMatch(/\btask\b/);
  });
});

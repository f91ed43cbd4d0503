import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { EndpointsRepository } from '../../src/endpoints/endpoints.repository';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * The endpoint cache reads every endpoint whose refresh starts in one step with one `findByIds`
 * (a run of endpoint-change markers, the endpoints changed during a reload). PostgreSQL takes at
 * most 65,535 bind parameters in one statement, so the ids must travel as one array.
 */
describe('EndpointsRepository.findByIds', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
  });
  afterAll(() => database?.drop());

  it('reads 70,000 ids in one query', async () => {
    const ids = Array.from({ length: 70_000 }, () => randomUUID());

    await expect(new EndpointsRepository(dataSource).findByIds([...ids, 'not-a-uuid'])).resolves.toEqual([]);
  });
});

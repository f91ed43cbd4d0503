import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { windowStart } from '../../src/replay/jobs/replay-job';
import { ReplayJobs } from '../../src/replay/jobs/replay-jobs.repository';
import { ReplayJobsService } from '../../src/replay/jobs/replay-jobs.service';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * `GET /v1/replay-jobs` pages by (created_at, id), and `created_at` is PostgreSQL's `now()`, in
 * microseconds: a cursor in milliseconds skipped a job created later in the same millisecond as the
 * page's last (review 8 F7).
 */
describe('ReplayJobsService.list', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let service: ReplayJobsService;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    // Listing uses the repository alone.
    service = new ReplayJobsService(
      new ReplayJobs(dataSource),
      null as never,
      null as never,
      null as never,
      null as never,
    );
  });
  afterAll(() => database?.drop());

  it('pages through jobs created within one millisecond, one a page, skipping none', async () => {
    const jobs = new ReplayJobs(dataSource);
    const tenantId = randomUUID();
    const createdAt = ['2026-12-02T12:00:00.1234Z', '2026-12-02T12:00:00.123456Z'];
    const ids: string[] = [];
    for (const at of createdAt) {
      const id = randomUUID();
      await jobs.create(
        {
          id,
          tenantId,
          endpointId: randomUUID(),
          kind: 'window',
          since: new Date(0),
          until: null,
          upTo: null,
          resumePoint: windowStart([]),
        },
        10,
      );
      await dataSource.query(`UPDATE replay_jobs SET created_at = $2::timestamptz WHERE id = $1`, [id, at]);
      ids.push(id);
    }

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = await service.list(tenantId, 1, cursor);
      seen.push(...page.data.map((job) => job.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    // Newest first.
    expect(seen).toEqual([ids[1], ids[0]]);
  });
});

import { Writable } from 'node:stream';
import { createLogger } from '../common/logger';
import { PinoQueryLogger } from './query-logger';

describe('PinoQueryLogger', () => {
  it("logs a failed query's statement and error code, never its parameters nor a value the message quotes", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = new PinoQueryLogger(createLogger('info', sink));
    const error = Object.assign(new Error('invalid input syntax for type uuid: "receiver-credential-42"'), {
      code: '22P02',
      parameters: ['receiver-credential-42'],
    });
    logger.logQueryError(error, 'SELECT * FROM endpoints WHERE id = $1', [
      'receiver-credential-42',
      { k: 'v-secret' },
    ]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('receiver-credential-42');
    expect(lines[0]).not.toContain('v-secret');
    expect(JSON.parse(lines[0])).toMatchObject({
      msg: 'query failed',
      query: 'SELECT * FROM endpoints WHERE id = $1',
      parameterCount: 2,
      error: { code: '22P02', message: 'invalid input syntax for type uuid: "[parameter]"' },
    });
  });
});

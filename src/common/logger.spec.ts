import { Writable } from 'node:stream';
import { createLogger } from './logger';

/** A logger writing JSON lines into an array, configured exactly as the service's. */
function capture(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger(level, destination), lines };
}

describe('logger redaction', () => {
  it('never writes authorization, API keys, secrets or webhook signatures', () => {
    const { logger, lines } = capture();
    const secretValues = [
      'Bearer hs_live_abc',
      'hs_live_apikey',
      'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0',
      'v1,c2lnbmF0dXJl',
      'whsec_second',
      'nested-token',
    ];
    logger.info(
      {
        authorization: secretValues[0],
        apiKey: secretValues[1],
        secret: secretValues[2],
        'webhook-signature': secretValues[3],
        headers: {
          authorization: secretValues[0],
          'webhook-signature': secretValues[3],
          'webhook-id': 'msg_1',
        },
        endpoint: { id: 'e1', secrets: [secretValues[4]], token: secretValues[5] },
        request: { headers: { authorization: secretValues[0], 'webhook-signature': secretValues[3] } },
        tenant: { apiKey: secretValues[1] },
        eventId: 'evt_1',
      },
      'delivery attempt',
    );
    expect(lines).toHaveLength(1);
    const written = JSON.stringify(lines[0]);
    for (const value of secretValues) expect(written).not.toContain(value);
    expect(lines[0]).toMatchObject({
      authorization: '[redacted]',
      apiKey: '[redacted]',
      secret: '[redacted]',
      'webhook-signature': '[redacted]',
      headers: { authorization: '[redacted]', 'webhook-signature': '[redacted]', 'webhook-id': 'msg_1' },
      eventId: 'evt_1',
      msg: 'delivery attempt',
    });
  });

  it('honours the level it is given (LOG_LEVEL)', () => {
    const { logger, lines } = capture('warn');
    logger.info('hidden');
    logger.warn('shown');
    expect(lines.map((line) => line.msg)).toEqual(['shown']);
    expect(lines[0]).toMatchObject({ level: 40, service: 'hookstream' });
  });
});

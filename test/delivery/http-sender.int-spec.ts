import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EgressRefusedError, HttpSender } from '../../src/delivery/http-sender';
import { classifyError } from '../../src/domain/attempt-outcome';
import { parseCidrList } from '../../src/domain/egress/cidr';
import { EgressPolicy } from '../../src/domain/egress/ip-classifier';
import { testConfig } from '../../src/testing/fakes';
import { waitFor } from '../support/wait';

/** A real HTTP server on 127.0.0.1 that counts the connections it accepts. */
async function startServer(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer(handler);
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

const sender = (allowlist: string, timeoutMs = 2000, connectionsPerOrigin = 64) =>
  new HttpSender({
    timeoutMs,
    responseBodyLimitBytes: 1024,
    connectionsPerOrigin,
    policy: new EgressPolicy(parseCidrList(allowlist)),
    userAgent: 'Hookstream-test',
  });

describe('HttpSender against a real loopback server', () => {
  /** Requests to /hang the server holds open now. */
  let hangingNow = 0;
  let target: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    target = await startServer((req, res) => {
      if (req.url === '/redirect') return void res.writeHead(302, { location: '/elsewhere' }).end();
      if (req.url === '/big') return void res.writeHead(200).end('x'.repeat(10_000));
      if (req.url === '/agent') {
        const agents = req.rawHeaders.flatMap((name, i) =>
          i % 2 === 0 && name.toLowerCase() === 'user-agent' ? [req.rawHeaders[i + 1]] : [],
        );
        return void res.writeHead(200).end(JSON.stringify(agents));
      }
      if (req.url === '/busy') return void res.writeHead(503, { 'retry-after': '7' }).end('busy');
      if (req.url === '/trickle') {
        // Headers at once, then a byte every 50 ms for ever: no idle gap for undici's bodyTimeout.
        res.writeHead(200);
        const drip = setInterval(() => res.write('x'), 50);
        req.socket.once('close', () => clearInterval(drip));
        return;
      }
      if (req.url === '/hang') {
        hangingNow += 1;
        req.socket.once('close', () => (hangingNow -= 1));
        return;
      }
      res.writeHead(204).end();
    });
  });
  afterAll(async () => {
    target.server.closeAllConnections();
    await new Promise((resolve) => target.server.close(resolve));
  });

  it('refuses to dial loopback by IP when loopback is not allowed, without connecting', async () => {
    const before = target.connections();
    const refusing = sender('');
    await expect(refusing.post(`http://127.0.0.1:${target.port}/`, {}, '{}')).rejects.toBeInstanceOf(
      EgressRefusedError,
    );
    await expect(refusing.post(`http://[::ffff:127.0.0.1]:${target.port}/`, {}, '{}')).rejects.toThrow(
      /not allowed/,
    );
    expect(target.connections()).toBe(before);
    await refusing.close();
  });

  it('checks the address a name resolves to at dial time (DNS rebinding), not only at registration', async () => {
    const before = target.connections();
    const refusing = sender('');
    const error = await refusing.post(`http://localhost:${target.port}/`, {}, '{}').catch((e: unknown) => e);
    expect(classifyError(error)).toMatchObject({
      kind: 'failed',
      error: expect.stringMatching(/^egress refused/),
    });
    expect(target.connections()).toBe(before);
    await refusing.close();
  });

  it('delivers when the allowlist covers loopback, does not follow redirects, and cuts long bodies', async () => {
    const allowed = sender('127.0.0.0/8,::1/128');
    expect((await allowed.post(`http://127.0.0.1:${target.port}/`, {}, '{}')).status).toBe(204);
    expect((await allowed.post(`http://localhost:${target.port}/`, {}, '{}')).status).toBe(204);
    const redirect = await allowed.post(`http://127.0.0.1:${target.port}/redirect`, {}, '{}');
    expect(redirect.status).toBe(302);
    const big = await allowed.post(`http://127.0.0.1:${target.port}/big`, {}, '{}');
    expect(big.body).toHaveLength(1024);
    await allowed.close();
  });

  it('hands back the status, headers and body of the answer', async () => {
    const allowed = sender('127.0.0.0/8');
    const busy = await allowed.post(`http://127.0.0.1:${target.port}/busy`, {}, '{}');
    expect(busy).toMatchObject({ status: 503, body: 'busy', headers: { 'retry-after': '7' } });
    await allowed.close();
  });

  it("sends the tenant's User-Agent, in whatever case, instead of ours, and ours when the tenant has none", async () => {
    const allowed = sender('127.0.0.0/8');
    const agentsSent = async (headers: Record<string, string>) =>
      JSON.parse(
        (await allowed.post(`http://127.0.0.1:${target.port}/agent`, headers, '{}')).body,
      ) as string[];
    expect(await agentsSent({ 'User-Agent': 'x', 'webhook-id': 'msg_1' })).toEqual(['x']);
    expect(await agentsSent({ 'user-agent': 'y' })).toEqual(['y']);
    expect(await agentsSent({ 'webhook-id': 'msg_1' })).toEqual(['Hookstream-test']);
    await allowed.close();
  });

  it('ends an attempt whose body is still arriving at the overall deadline', async () => {
    const impatient = sender('127.0.0.0/8', 400);
    const started = performance.now();
    const error = await impatient
      .post(`http://127.0.0.1:${target.port}/trickle`, {}, '{}')
      .then(() => new Error('the trickling answer was taken as complete'))
      .catch((e: unknown) => e);
    expect(classifyError(error)).toMatchObject({ kind: 'failed', error: 'timeout' });
    // The deadline is swept a few times per timeout, so it ends soon after, not at undici's own limits.
    expect(performance.now() - started).toBeLessThan(2_000);
    await impatient.close();
  });

  it('gives up on a receiver that never answers after the timeout', async () => {
    const impatient = sender('127.0.0.0/8', 300);
    const error = await impatient
      .post(`http://127.0.0.1:${target.port}/hang`, {}, '{}')
      .catch((e: unknown) => e);
    expect(classifyError(error)).toMatchObject({ kind: 'failed', error: 'timeout' });
    await impatient.close();
  });

  it("leaves an origin open to other tenants while one tenant's whole in-flight share hangs there", async () => {
    // As the delivery module sizes it: connections per origin = the process's in-flight cap. With
    // undici's 64, a tenant's 128 hanging requests took every connection to a shared receiver host.
    const config = testConfig();
    const shared = sender('127.0.0.0/8', 10_000, config.delivery.maxInFlight);
    const hanging = Array.from({ length: config.limits.tenantMaxInFlight }, () =>
      shared.post(`http://127.0.0.1:${target.port}/hang`, {}, '{}').catch(() => undefined),
    );
    await waitFor(() => hangingNow >= config.limits.tenantMaxInFlight, {
      timeoutMs: 5_000,
      what: () => `${config.limits.tenantMaxInFlight} hanging requests at the server (${hangingNow})`,
    });
    const started = performance.now();
    const quiet = await shared.post(`http://127.0.0.1:${target.port}/`, {}, '{}');
    expect(quiet.status).toBe(204);
    expect(performance.now() - started).toBeLessThan(1_000);
    target.server.closeAllConnections();
    await Promise.all(hanging);
    await shared.close();
  });

  it('fails each attempt with an invalid header value at once, and the origin keeps taking valid requests', async () => {
    // undici refuses such a request only after taking one of the origin's 64 connection slots, and
    // undici 7 never gave those back: from the 65th on, every request to the origin hung for good,
    // deaf even to its abort signal. Each call here gets a deadline, so a hang fails the test.
    const allowed = sender('127.0.0.0/8', 5000);
    const url = `http://127.0.0.1:${target.port}/`;
    const promptly = async <T>(attempt: Promise<T>, what: string): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} hung`)), 2000);
      });
      try {
        return await Promise.race([attempt, hung]);
      } finally {
        clearTimeout(timer);
      }
    };
    const invalid = ['a\u0001b', 'line\r\nbreak', 'emoji \u{1f600}', 'nul\u0000', 'ideograph \u4e00'];
    for (let i = 0; i < 70; i++) {
      const value = invalid[i % invalid.length];
      const headers: Record<string, string> = { [i % 2 ? 'x-custom' : 'webhook-id']: value };
      const error = await promptly(allowed.post(url, headers, '{}'), `invalid request ${i}`).then(
        () => new Error(`invalid request ${i} was sent`),
        (e: unknown) => e,
      );
      expect(classifyError(error)).toMatchObject({
        kind: 'failed',
        status: null,
        error: expect.stringMatching(/^invalid header (x-custom|webhook-id): /),
      });
    }
    const valid = await promptly(
      allowed.post(url, { 'webhook-id': 'msg_1', 'x-custom': 'caf\u00e9 \t ok' }, '{}'),
      'the valid request after 70 invalid ones',
    );
    expect(valid.status).toBe(204);
    await allowed.close();
  });
});

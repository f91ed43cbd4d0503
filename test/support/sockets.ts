import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

/**
 * How many established TCP connections to `port` the process `pid` holds open (Linux: the
 * socket inodes among its file descriptors, matched against /proc/net/tcp and tcp6). Which process
 * a cluster's supervisor handed a connection to is seen only this way.
 */
export function connectionsHeld(pid: number, port: number): number {
  const established = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const localPort = parseInt(fields[1].split(':')[1], 16);
      // st 01 is ESTABLISHED; field 9 is the socket's inode.
      if (localPort === port && fields[3] === '01') established.add(fields[9]);
    }
  }
  let held = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && established.has(inode)) held++;
  }
  return held;
}

/** A TCP port free on 127.0.0.1 a moment ago, for a service that must keep its port across a restart. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The status a server answers for a request target sent as written: `/%6Detrics` or an absolute-form
 * `http://host/metrics`, which `fetch` would normalise or refuse.
 */
export async function statusOfTarget(baseUrl: string, target: string, token?: string): Promise<number> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise<number>((resolve, reject) => {
    const sent = request(
      {
        host: hostname,
        port,
        path: target,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    sent.on('error', reject);
    sent.end();
  });
}

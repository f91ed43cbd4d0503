import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

/** How a name answers: its A and AAAA records, and how long each takes. */
export interface DnsName {
  a: string[];
  aaaa?: string[];
  ttlSeconds?: number;
  /** Answer after this long (never, if the server stops first). */
  delayMs?: number;
  /** The A answer's delay, when it differs from `delayMs`. */
  aDelayMs?: number;
  /** A response code (2 SERVFAIL, 5 REFUSED) per type, sent with no records; NOERROR otherwise. */
  rcode?: { a?: number; aaaa?: number };
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const NXDOMAIN = 3;

/**
 * A minimal DNS server on 127.0.0.1 (UDP): answers A and AAAA queries from `zone` (AAAA with no
 * records unless the name has some, or the name's rcode for that type), names it does not know with
 * NXDOMAIN, and counts every query by name and type.
 */
export class DnsResponder {
  readonly queries: Array<{ name: string; type: 'A' | 'AAAA' | number }> = [];
  private socket?: Socket;
  private readonly delayed = new Set<NodeJS.Timeout>();

  constructor(private readonly zone: (name: string) => DnsName | undefined) {}

  async start(): Promise<this> {
    this.socket = createSocket('udp4');
    this.socket.on('message', (message, peer) => this.onQuery(message, peer));
    await new Promise<void>((resolve) => this.socket!.bind(0, '127.0.0.1', resolve));
    return this;
  }

  /** `host:port`, for `Resolver.setServers`. */
  get server(): string {
    return `127.0.0.1:${this.socket!.address().port}`;
  }

  count(name: string, type?: 'A' | 'AAAA'): number {
    return this.queries.filter((q) => q.name === name && (type === undefined || q.type === type)).length;
  }

  async stop(): Promise<void> {
    for (const timer of this.delayed) clearTimeout(timer);
    await new Promise<void>((resolve) => (this.socket ? this.socket.close(() => resolve()) : resolve()));
  }

  private onQuery(message: Buffer, peer: RemoteInfo): void {
    const question = parseQuestion(message);
    if (question === null) return;
    const type = question.type === TYPE_A ? 'A' : question.type === TYPE_AAAA ? 'AAAA' : question.type;
    this.queries.push({ name: question.name, type });
    const entry = this.zone(question.name);
    const rcode =
      question.type === TYPE_A ? entry?.rcode?.a : question.type === TYPE_AAAA ? entry?.rcode?.aaaa : 0;
    const answer =
      entry === undefined
        ? reply(message, question, NXDOMAIN, [], 0)
        : rcode
          ? reply(message, question, rcode, [], 0)
          : reply(message, question, 0, recordsOf(entry, question.type), entry.ttlSeconds ?? 300);
    const send = () => this.socket?.send(answer, peer.port, peer.address);
    const delayMs = question.type === TYPE_A ? (entry?.aDelayMs ?? entry?.delayMs) : entry?.delayMs;
    if (!delayMs) return send();
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      send();
    }, delayMs);
    this.delayed.add(timer);
  }
}

function parseQuestion(message: Buffer): { name: string; type: number; end: number } | null {
  if (message.length < 12 || message.readUInt16BE(4) !== 1) return null;
  const labels: string[] = [];
  let offset = 12;
  while (offset < message.length && message[offset] !== 0) {
    const length = message[offset];
    labels.push(message.toString('ascii', offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  if (offset + 5 > message.length) return null;
  return { name: labels.join('.').toLowerCase(), type: message.readUInt16BE(offset + 1), end: offset + 5 };
}

function recordsOf(entry: DnsName, type: number): string[] {
  if (type === TYPE_A) return entry.a.filter((address) => isIPv4(address));
  if (type === TYPE_AAAA) return (entry.aaaa ?? []).filter((address) => isIPv6(address));
  return [];
}

/** An IPv6 address's 16 bytes (`2001:db8::1` form; no embedded IPv4). */
function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = [
    ...groups(head),
    ...Array<string>(tail === undefined ? 0 : missing).fill('0'),
    ...groups(tail),
  ];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

/** The query's id and question, the answer flags and rcode, then one IN record per address. */
function reply(
  query: Buffer,
  question: { type: number; end: number },
  rcode: number,
  addresses: string[],
  ttl: number,
): Buffer {
  const records = addresses.map((address) => {
    const data = question.type === TYPE_A ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
    const record = Buffer.alloc(12 + data.length);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(question.type, 2);
    record.writeUInt16BE(1, 4);
    record.writeUInt32BE(ttl, 6);
    record.writeUInt16BE(data.length, 10);
    data.copy(record, 12);
    return record;
  });
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, query.subarray(12, question.end), ...records]);
}

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';

/** How a name answers: its A records (AAAA queries get an empty answer), and how long it takes. */
export interface DnsName {
  a: string[];
  ttlSeconds?: number;
  /** Answer after this long (never, if the server stops first). */
  delayMs?: number;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const NXDOMAIN = 3;

/**
 * A minimal DNS server on 127.0.0.1 (UDP): answers A queries from `zone`, AAAA with no records,
 * names it does not know with NXDOMAIN, and counts every query by name and type.
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
    const answer =
      entry === undefined
        ? reply(message, question.end, NXDOMAIN, [], 0)
        : reply(message, question.end, 0, question.type === TYPE_A ? entry.a : [], entry.ttlSeconds ?? 300);
    const send = () => this.socket?.send(answer, peer.port, peer.address);
    if (!entry?.delayMs) return send();
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      send();
    }, entry.delayMs);
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

/** The query's id and question, the answer flags and rcode, then one IN record per address. */
function reply(query: Buffer, questionEnd: number, rcode: number, addresses: string[], ttl: number): Buffer {
  const records = addresses.filter(isIPv4).map((address) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(1, 4);
    record.writeUInt32BE(ttl, 6);
    record.writeUInt16BE(4, 10);
    Buffer.from(address.split('.').map(Number)).copy(record, 12);
    return record;
  });
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, query.subarray(12, questionEnd), ...records]);
}

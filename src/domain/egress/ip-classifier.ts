import * as ipaddr from 'ipaddr.js';
import { cidrContains, type Cidr } from './cidr';

/** Human names for ipaddr.js range labels, used in refusal messages. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  private: 'private',
  reserved: 'reserved or documentation',
  as112: 'AS112 (reserved)',
  amt: 'AMT (reserved)',
  uniqueLocal: 'unique-local (private)',
  ipv4Mapped: 'IPv4-mapped',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard-only',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
  '6to4': '6to4',
  teredo: 'Teredo',
  benchmarking: 'benchmarking',
  as112v6: 'AS112 (reserved)',
  deprecatedOrchid: 'ORCHID (reserved)',
  orchid2: 'ORCHIDv2 (reserved)',
  droneRemoteIdProtocolEntityTags: 'DRIP (reserved)',
  segmentRouting: 'segment-routing (reserved)',
};

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const CLOUD_METADATA = ipaddr.parse('169.254.169.254');
/**
 * Cloud platform services on public unicast addresses, reachable from every VM of that cloud: the
 * range check alone would let a tenant's endpoint reach them (and read their answers in its attempt
 * log). The ones other clouds use (169.254.169.254, 100.100.100.200, fd00:ec2::254, 192.0.0.192) lie in
 * special ranges already refused.
 */
const PLATFORM_ADDRESSES = new Map([['168.63.129.16', 'cloud platform (Azure WireServer)']]);

/**
 * Decides whether an outbound connection may go to an IP address: only globally routable unicast
 * addresses, unless the address lies in the operator's allowlist (e.g. loopback in development).
 * Called with the address actually dialled, so DNS rebinding cannot slip a private address past it.
 */
export class EgressPolicy {
  constructor(private readonly allowlist: Cidr[]) {}

  /** null when `address` may be dialled, else why not. */
  refusalReason(address: string): string | null {
    const literal = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
    if (!ipaddr.isValid(literal)) return `${address} is not an IP address`;
    const ip = ipaddr.parse(literal);
    if (this.allowlist.some((cidr) => cidrContains(cidr, ip))) return null;
    const problem = ip.kind() === 'ipv4' ? classifyV4(ip as ipaddr.IPv4) : classifyV6(ip as ipaddr.IPv6);
    return problem === null ? null : `${problem} address ${ip.toString()} is not allowed`;
  }
}

/** null for a public IPv4 address, else the name of its special range. */
function classifyV4(ip: ipaddr.IPv4): string | null {
  const range = ip.range();
  if (range === 'unicast') return PLATFORM_ADDRESSES.get(ip.toString()) ?? null;
  if (range === 'linkLocal' && ip.match(CLOUD_METADATA, 32)) return 'link-local (cloud metadata)';
  return RANGE_NAMES[range] ?? range;
}

function classifyV6(ip: ipaddr.IPv6): string | null {
  const range = ip.range();
  if (range === 'ipv4Mapped') return `IPv4-mapped (${ip.toIPv4Address().toString()})`;
  if (range === 'rfc6052') return `NAT64 (embeds ${embeddedLow32(ip).toString()})`;
  if (range === 'rfc6145') return `IPv4-translated (embeds ${embeddedLow32(ip).toString()})`;
  if (range === '6to4') {
    // 2002:AABB:CCDD::/48 carries the IPv4 address AA.BB.CC.DD of the 6to4 router.
    const parts = ip.parts;
    const v4 = new ipaddr.IPv4([parts[1] >> 8, parts[1] & 0xff, parts[2] >> 8, parts[2] & 0xff]);
    const embedded = classifyV4(v4);
    return embedded === null ? null : `6to4 embedding ${embedded} ${v4.toString()}`;
  }
  if (range === 'teredo') {
    // Teredo: server IPv4 in bits 32..63, client IPv4 (bit-inverted) in the last 32 bits.
    const parts = ip.parts;
    const server = new ipaddr.IPv4([parts[2] >> 8, parts[2] & 0xff, parts[3] >> 8, parts[3] & 0xff]);
    const client = new ipaddr.IPv4(
      [parts[6] >> 8, parts[6] & 0xff, parts[7] >> 8, parts[7] & 0xff].map((byte) => byte ^ 0xff),
    );
    for (const v4 of [server, client]) {
      const embedded = classifyV4(v4);
      if (embedded !== null) return `Teredo embedding ${embedded} ${v4.toString()}`;
    }
    return null;
  }
  if (range !== 'unicast') return RANGE_NAMES[range] ?? range;
  // Everything left outside 2000::/3 (IPv4-compatible ::a.b.c.d, unassigned space) is not routable.
  if (!ip.match(GLOBAL_UNICAST_V6)) {
    return ip.parts.slice(0, 6).every((part) => part === 0) ? 'IPv4-compatible' : 'non-global';
  }
  return null;
}

function embeddedLow32(ip: ipaddr.IPv6): ipaddr.IPv4 {
  const parts = ip.parts;
  return new ipaddr.IPv4([parts[6] >> 8, parts[6] & 0xff, parts[7] >> 8, parts[7] & 0xff]);
}

export type NormalizedHost = { kind: 'ip'; address: string } | { kind: 'name'; name: string };

/**
 * Turns a URL host into either a canonical IP literal or a lower-cased DNS name. Odd IPv4 spellings
 * (`2130706433`, `0x7f.1`, `017700000001`, `127.1`) become dotted quads, the way a resolver would read
 * them; bracketed IPv6 loses its brackets.
 */
export function normalizeHost(host: string): NormalizedHost {
  let value = host.trim().toLowerCase();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  if (value.endsWith('.')) value = value.slice(0, -1);
  if (value.includes(':')) {
    if (ipaddr.IPv6.isValid(value)) return { kind: 'ip', address: ipaddr.IPv6.parse(value).toString() };
    return { kind: 'name', name: value };
  }
  if (ipaddr.IPv4.isValid(value)) return { kind: 'ip', address: ipaddr.IPv4.parse(value).toString() };
  return { kind: 'name', name: value };
}

import * as ipaddr from 'ipaddr.js';

/** A parsed CIDR range, e.g. from HOOKSTREAM_EGRESS_ALLOWLIST. */
export interface Cidr {
  text: string;
  address: ipaddr.IPv4 | ipaddr.IPv6;
  prefixLength: number;
}

export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const withPrefix = trimmed.includes('/')
    ? trimmed
    : `${trimmed}/${ipaddr.parse(trimmed).kind() === 'ipv4' ? 32 : 128}`;
  if (!ipaddr.isValidCIDR(withPrefix))
    throw new Error(`"${trimmed}" is not a CIDR range (e.g. 127.0.0.0/8, ::1/128)`);
  const [address, prefixLength] = ipaddr.parseCIDR(withPrefix);
  return { text: trimmed, address, prefixLength };
}

export function parseCidrList(text: string): Cidr[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseCidr);
}

/** True when `ip` lies in `cidr`; an IPv4-mapped IPv6 address matches IPv4 ranges. */
export function cidrContains(cidr: Cidr, ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  let candidate = ip;
  if (candidate.kind() === 'ipv6' && (candidate as ipaddr.IPv6).isIPv4MappedAddress()) {
    candidate = (candidate as ipaddr.IPv6).toIPv4Address();
  }
  if (candidate.kind() !== cidr.address.kind()) return false;
  return candidate.match(cidr.address, cidr.prefixLength);
}

import { normalizeHost, type EgressPolicy } from '../../domain/egress/ip-classifier';

export const MAX_URL_LENGTH = 2048;

export type HostLookup = (host: string) => Promise<string[]>;

export interface EndpointUrlOptions {
  httpsOnly: boolean;
  /** Resolves a DNS name to every address it has (the service's HostResolver, HOST_LOOKUP). */
  lookup: HostLookup;
}

/**
 * Checks an endpoint URL at registration: scheme, credentials, length, and that every address the
 * host is or resolves to passes the egress policy. Returns the problems found (empty when acceptable).
 * Delivery checks the dialled address again, so a name that later rebinds to a private address fails there.
 */
export async function checkEndpointUrl(
  url: string,
  policy: EgressPolicy,
  opts: EndpointUrlOptions,
): Promise<string[]> {
  if (url.length > MAX_URL_LENGTH) return [`url must be at most ${MAX_URL_LENGTH} characters`];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return ['url must be an absolute http or https URL'];
  }
  // Stored as sent and sent as stored: nothing the URL parser would silently drop or rewrite.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(url) || !url.isWellFormed()) {
    return ['url must not contain spaces, control characters or unpaired surrogates'];
  }
  const problems: string[] = [];
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    problems.push(`url scheme must be http or https, not ${parsed.protocol.slice(0, -1)}`);
    return problems;
  }
  if (opts.httpsOnly && parsed.protocol !== 'https:') problems.push('url must use https');
  if (parsed.username !== '' || parsed.password !== '') problems.push('url must not contain credentials');
  if (parsed.hostname === '') {
    problems.push('url must have a host');
    return problems;
  }

  const host = normalizeHost(parsed.hostname);
  if (host.kind === 'ip') {
    const refusal = policy.refusalReason(host.address);
    if (refusal !== null) problems.push(`url host: ${refusal}`);
    return problems;
  }
  let addresses: string[];
  try {
    addresses = await opts.lookup(host.name);
  } catch {
    addresses = [];
  }
  if (addresses.length === 0 || addresses.some((address) => policy.refusalReason(address) !== null)) {
    problems.push(unusableName(host.name));
  }
  return problems;
}

/**
 * The refusal of a name says nothing of what it resolves to, or whether it resolves at all: the
 * resolver reads the hosts file, the internal DNS and its search domains, so the answer for a name
 * such as `postgres` would map the service's own network for any tenant, one request at a time.
 * An address written in the URL is the tenant's own, and its refusal names the range.
 */
function unusableName(name: string): string {
  return `url host ${name} does not resolve to an address endpoints may use (public, or in HOOKSTREAM_EGRESS_ALLOWLIST)`;
}

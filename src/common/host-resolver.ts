import { lookup as getaddrinfo, type LookupAddress } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { systemClock, type Clock } from '../domain/clock';

/** The addresses a name has, and how long they may be reused. */
export interface HostAnswer {
  addresses: LookupAddress[];
  /** The shortest TTL of the records, in ms; null when the source has none (the hosts file). */
  ttlMs: number | null;
  /**
   * Set when one address family had not answered yet: the whole answer once it has, or null if it
   * failed (never rejects); already null when it had failed with an error other than "no records".
   * Until then IPv6 addresses alone are reused for a second at most.
   */
  whole?: Promise<HostAnswer | null>;
}

/** Finds a name's addresses. `signal` aborts when the lookup has timed out. */
export type HostQuery = (hostname: string, signal: AbortSignal) => Promise<HostAnswer>;

/** The system resolver, `dns.lookup(name, { all: true })`: getaddrinfo on libuv's thread pool. */
export type SystemLookup = (
  hostname: string,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/** What HttpSender needs of a resolver. */
export type HostLookup = Pick<HostResolver, 'lookup'>;

/**
 * A name that could not be resolved. The codes are ones `classifyError` reports as `dns lookup
 * failed` (a connection error, retried through the tiers): ENOTFOUND when the name has no
 * address, EAI_AGAIN for everything else, a timeout included (not ETIMEDOUT, which would read as
 * the receiver being slow).
 */
export class DnsLookupError extends Error {
  constructor(
    readonly hostname: string,
    readonly code: 'ENOTFOUND' | 'EAI_AGAIN',
    readonly detail: string,
    readonly timedOut = false,
  ) {
    super(`${hostname}: ${detail}`);
    this.name = 'DnsLookupError';
  }
}

export interface HostResolverOptions {
  /** Longest wait for one name's addresses, the system lookup included (HOOKSTREAM_DNS_TIMEOUT). */
  timeoutMs?: number;
  /** Longest an answer is reused; the record's TTL when shorter (HOOKSTREAM_DNS_CACHE_TTL). */
  cacheTtlMs?: number;
  /** How long a failure is remembered. */
  failureTtlMs?: number;
  /** Names remembered at most; the oldest entry goes first. */
  maxEntries?: number;
  clock?: Clock;
  /** Where the lookup counter is registered. */
  registry?: Registry;
  /** DNS servers (`127.0.0.1:5353`) instead of the system's. */
  servers?: string[];
  /** Replaces getaddrinfo for names DNS does not know. */
  systemLookup?: SystemLookup;
  /** Replaces DNS and getaddrinfo altogether. */
  query?: HostQuery;
}

type Entry = { expiresAt: number } & (
  | { addresses: LookupAddress[] }
  | { failure: { code: DnsLookupError['code']; detail: string; timedOut: boolean } }
);

type LookupResult = 'cache_hit' | 'resolved' | 'failed' | 'timed_out';

const MIN_TTL_MS = 1000;
const FAILURE_TTL_MS = 5000;
/** getaddrinfo calls at once; libuv has four threads, shared with file and crypto work. */
const SYSTEM_LOOKUPS_AT_ONCE = 2;
/** Once A has answered, how long to wait for AAAA (RFC 8305's resolution delay). */
const RESOLUTION_DELAY_MS = 50;
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

/**
 * Resolves endpoint host names for the sender without taking libuv's thread pool: DNS through
 * c-ares (its own sockets), A and AAAA at once, each name's answer reused for its TTL (capped),
 * a failure for a few seconds, one query shared by every lookup of a name in flight, and every
 * lookup bounded by a timeout. Names DNS does not know (`localhost`, the hosts file, search
 * domains) go to getaddrinfo, at most two at a time.
 */
export class HostResolver {
  /** The name written longest ago goes first; lru-cache evicts in constant time. */
  private readonly cache: LRUCache<string, Entry>;
  private readonly inFlight = new Map<string, Promise<Entry>>();
  private readonly timeoutMs: number;
  private readonly cacheTtlMs: number;
  private readonly failureTtlMs: number;
  private readonly clock: Clock;
  private readonly query: HostQuery;
  private readonly resolver?: Resolver;
  private readonly lookups: Counter<'result'>;

  constructor(options: HostResolverOptions = {}) {
    this.timeoutMs = Math.max(1, options.timeoutMs ?? 2000);
    this.cacheTtlMs = Math.max(MIN_TTL_MS, options.cacheTtlMs ?? 60_000);
    this.failureTtlMs = options.failureTtlMs ?? Math.min(FAILURE_TTL_MS, this.cacheTtlMs);
    this.cache = new LRUCache({ max: options.maxEntries ?? 10_000 });
    this.clock = options.clock ?? systemClock;
    this.lookups = new Counter({
      name: 'hookstream_dns_lookups_total',
      help: 'Endpoint host name lookups by result: cache_hit, resolved, failed, timed_out (a remembered failure counts as the failure)',
      labelNames: ['result'],
      registers: options.registry ? [options.registry] : [],
    });
    if (options.query) {
      this.query = options.query;
    } else {
      this.resolver = caresResolver(this.timeoutMs);
      if (options.servers) this.resolver.setServers(options.servers);
      const system = new BoundedSystemLookup(SYSTEM_LOOKUPS_AT_ONCE, options.systemLookup);
      this.query = dnsQuery(this.resolver, system, this.timeoutMs);
    }
  }

  /** The addresses of `hostname` (an IP literal is its own address); rejects with DnsLookupError. */
  async lookup(hostname: string): Promise<LookupAddress[]> {
    const family = isIP(hostname);
    if (family !== 0) return [{ address: hostname, family }];
    const name = hostname.toLowerCase();
    const cached = this.cache.peek(name);
    if (cached !== undefined && cached.expiresAt > this.clock.now()) {
      return this.answer(name, cached, 'cache_hit');
    }
    let pending = this.inFlight.get(name);
    if (pending === undefined) {
      // Removed in a later turn, after it is set, even when the query fails at once.
      pending = this.resolve(name).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, pending);
    }
    return this.answer(name, await pending, 'resolved');
  }

  /** Stops the queries in flight (they fail); the resolver is not used afterwards. */
  close(): void {
    this.resolver?.cancel();
  }

  private answer(name: string, entry: Entry, found: LookupResult): LookupAddress[] {
    if ('addresses' in entry) {
      this.lookups.inc({ result: found });
      return [...entry.addresses];
    }
    const { code, detail, timedOut } = entry.failure;
    this.lookups.inc({ result: timedOut ? 'timed_out' : 'failed' });
    throw new DnsLookupError(name, code, detail, timedOut);
  }

  private async resolve(name: string): Promise<Entry> {
    const timeout = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new DnsLookupError(name, 'EAI_AGAIN', `no answer within ${this.timeoutMs} ms`, true);
        timeout.abort(error);
        reject(error);
      }, this.timeoutMs);
    });
    let entry: Entry;
    let whole: HostAnswer['whole'];
    try {
      const answer = await Promise.race([this.query(name, timeout.signal), deadline]);
      if (answer.addresses.length === 0) throw new DnsLookupError(name, 'ENOTFOUND', 'no address');
      entry = this.entryOf(answer);
      whole = answer.whole;
    } catch (error) {
      entry = { failure: failureOf(error), expiresAt: this.clock.now() + this.failureTtlMs };
    } finally {
      clearTimeout(timer);
    }
    this.remember(name, entry);
    if (whole) void this.rememberWhenWhole(name, entry, whole);
    return entry;
  }

  private entryOf({ addresses, ttlMs, whole }: HostAnswer): Entry {
    // AAAA alone fails every attempt on a host without IPv6, so it is asked again soon if A never
    // comes; A alone works nearly everywhere, and a server that drops AAAA queries is not asked each second.
    const ipv6Only = whole !== undefined && addresses.every((a) => a.family === 6);
    const ttl = ipv6Only
      ? MIN_TTL_MS
      : Math.max(MIN_TTL_MS, Math.min(ttlMs ?? this.cacheTtlMs, this.cacheTtlMs));
    return { addresses, expiresAt: this.clock.now() + ttl };
  }

  /** Puts the whole answer in place of the partial one, unless a newer answer has replaced that. */
  private async rememberWhenWhole(
    name: string,
    partial: Entry,
    whole: Promise<HostAnswer | null>,
  ): Promise<void> {
    const answer = await whole;
    // Null: the late family failed; the partial answer stays for as long as it was given.
    if (answer !== null && answer.addresses.length > 0 && this.cache.peek(name) === partial) {
      this.remember(name, this.entryOf(answer));
    }
  }

  private remember(name: string, entry: Entry): void {
    this.cache.set(name, entry);
  }
}

function failureOf(error: unknown): Extract<Entry, { failure: unknown }>['failure'] {
  if (error instanceof DnsLookupError) {
    return { code: error.code, detail: error.detail, timedOut: error.timedOut };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && NOT_FOUND_CODES.has(code)) {
    return { code: 'ENOTFOUND', detail: `no such name (${code})`, timedOut: false };
  }
  if (code === 'ETIMEOUT') return { code: 'EAI_AGAIN', detail: 'no answer (ETIMEOUT)', timedOut: true };
  // The resolver's own code goes in the text only: as a code, ECONNREFUSED would read as the receiver's.
  const detail = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
  return { code: 'EAI_AGAIN', detail: `lookup failed (${detail})`, timedOut: false };
}

/**
 * c-ares resends an unanswered query after a wait it adapts to the server's latency (250 ms at
 * least), doubling each time less up to half as jitter: enough tries that it still waits when our
 * own deadline fails the lookup, so the timeout is HOOKSTREAM_DNS_TIMEOUT and not c-ares's.
 */
function caresResolver(timeoutMs: number): Resolver {
  const tries = 1 + Math.max(1, Math.ceil(Math.log2(timeoutMs / 250)));
  return new Resolver({ timeout: Math.max(250, Math.ceil(timeoutMs / 4)), tries });
}

/** DNS first; names it does not know, and `localhost` (RFC 6761), from the system lookup. */
function dnsQuery(resolver: Resolver, system: BoundedSystemLookup, timeoutMs: number): HostQuery {
  return async (name, signal) => {
    if (/(^|\.)localhost\.?$/.test(name)) {
      return { addresses: await system.lookup(name, signal), ttlMs: null };
    }
    const queries = [resolver.resolve4(name, { ttl: true }), resolver.resolve6(name, { ttl: true })];
    // Half the timeout leaves c-ares time to resend an A query once (its first try waits a quarter).
    const [v4, v6] = await bothFamilies(queries, timeoutMs / 2);
    const found = answerOf(v4, v6);
    if (found !== null) {
      const late = v4 === undefined ? 0 : v6 === undefined ? 1 : null;
      if (late === null) {
        // A family that failed (SERVFAIL, REFUSED) within the wait is as partial as one that failed
        // after it. "No A records" (ENODATA) with AAAA is a whole IPv6-only answer and keeps its TTL.
        const failed = [v4, v6].some((r) => r?.status === 'rejected' && !hasNoRecords(r.reason));
        return failed ? { ...found, whole: Promise.resolve(null) } : found;
      }
      const whole = settle(queries[late]).then((rest) => {
        if (rest.status === 'rejected' && !hasNoRecords(rest.reason)) return null;
        return late === 0 ? answerOf(rest, v6) : answerOf(v4, rest);
      });
      return { ...found, whole };
    }
    // No family has records, so bothFamilies waited for both.
    const reasons = [v4, v6].flatMap((r) => (r?.status === 'rejected' ? [r.reason as unknown] : []));
    // No such name in DNS (or no DNS server at all): the hosts file or a search domain may know it.
    const unknown = reasons.every((reason) => {
      const code = (reason as NodeJS.ErrnoException).code;
      return code === 'ENOTFOUND' || code === 'ENODATA' || code === 'ECONNREFUSED';
    });
    if (unknown) return { addresses: await system.lookup(name, signal), ttlMs: null };
    throw reasons.find((reason) => (reason as NodeJS.ErrnoException).code !== 'ENODATA') ?? reasons[0];
  };
}

type Records = Array<{ address: string; ttl: number }>;
type FamilyResult = PromiseSettledResult<Records> | undefined;

/** The addresses of the families that have records, A first; null when none has. */
function answerOf(v4: FamilyResult, v6: FamilyResult): HostAnswer | null {
  const records = [
    ...(v4?.status === 'fulfilled' ? v4.value.map((r) => ({ ...r, family: 4 })) : []),
    ...(v6?.status === 'fulfilled' ? v6.value.map((r) => ({ ...r, family: 6 })) : []),
  ];
  if (records.length === 0) return null;
  return {
    addresses: records.map(({ address, family }) => ({ address, family })),
    ttlMs: Math.min(...records.map((r) => r.ttl)) * 1000,
  };
}

function hasNoRecords(reason: unknown): boolean {
  const code = (reason as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENODATA' || code === 'ENOTFOUND';
}

function settle(query: Promise<Records>): Promise<PromiseSettledResult<Records>> {
  return query.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );
}

/**
 * Both families' answers, or one family's addresses and the other undefined (late): AAAA gets the
 * resolution delay after A has answered, A gets `aWaitMs` after AAAA has. RFC 8305 lets a client
 * start on AAAA alone because it tries the A answer later; our connector gets only the addresses
 * this lookup returns, and on a host without IPv6 an AAAA answer alone fails every attempt.
 */
function bothFamilies([v4, v6]: Promise<Records>[], aWaitMs: number): Promise<FamilyResult[]> {
  return new Promise((resolve) => {
    const results: FamilyResult[] = [undefined, undefined];
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      resolve([...results]);
    };
    [v4, v6].forEach((query, index) => {
      void settle(query).then((result) => {
        results[index] = result;
        if (results.every((r) => r !== undefined)) return finish();
        if (result.status === 'fulfilled' && result.value.length > 0 && timer === undefined) {
          timer = setTimeout(finish, index === 0 ? RESOLUTION_DELAY_MS : aWaitMs);
        }
      });
    });
  });
}

/**
 * getaddrinfo with at most `limit` calls running. A call that outlives its lookup's timeout keeps
 * its slot until it returns: it still holds a libuv thread. Waiters leave when their lookup times out.
 */
export class BoundedSystemLookup {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly lookupFn: SystemLookup = (name, callback) => getaddrinfo(name, { all: true }, callback),
  ) {}

  lookup(hostname: string, signal: AbortSignal): Promise<LookupAddress[]> {
    return new Promise((resolve, reject) => {
      const start = () => {
        signal.removeEventListener('abort', leave);
        this.running += 1;
        this.lookupFn(hostname, (error, addresses) => {
          this.running -= 1;
          this.waiting.shift()?.();
          if (error) reject(error);
          else resolve(addresses);
        });
      };
      const leave = () => {
        const index = this.waiting.indexOf(start);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(abandoned(signal));
      };
      if (signal.aborted) return reject(abandoned(signal));
      if (this.running < this.limit) return start();
      this.waiting.push(start);
      signal.addEventListener('abort', leave, { once: true });
    });
  }
}

function abandoned(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('lookup abandoned');
}

import type { Provider } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { Registry } from 'prom-client';
import { HostResolver } from '../common/host-resolver';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import type { HostLookup } from './ssrf/endpoint-url';
import { EgressPolicy } from '../domain/egress/ip-classifier';

/** Resolves endpoint host names at registration; tests of the app may override it. */
export const HOST_LOOKUP = Symbol('HOST_LOOKUP');

export const egressProviders: Provider[] = [
  {
    provide: EgressPolicy,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig) => new EgressPolicy(config.security.egressAllowlist),
  },
  {
    // One resolver for the process: the sender dials through it, and the URL check at registration
    // asks it too (c-ares, a timeout, at most two getaddrinfo calls at once), not getaddrinfo on
    // libuv's four threads, which a tenant registering names its own DNS never answers would hold
    // for the system resolver's timeout, and with them the broker's and the database's lookups.
    provide: HostResolver,
    inject: [APP_CONFIG, METRICS_REGISTRY],
    useFactory: (config: AppConfig, registry: Registry) =>
      new HostResolver({
        timeoutMs: config.limits.dnsTimeoutMs,
        cacheTtlMs: config.limits.dnsCacheTtlMs,
        registry,
      }),
  },
  {
    provide: HOST_LOOKUP,
    inject: [HostResolver],
    useFactory:
      (resolver: HostResolver): HostLookup =>
      async (host) =>
        (await resolver.lookup(host)).map((answer) => answer.address),
  },
];

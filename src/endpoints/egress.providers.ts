import type { Provider } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { HostResolver } from '../common/host-resolver';
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
    provide: HOST_LOOKUP,
    inject: [APP_CONFIG],
    // The sender's resolver (c-ares, a timeout, at most two getaddrinfo calls at once), not
    // getaddrinfo on libuv's four threads: a tenant registering names its own DNS never answers
    // would otherwise hold every thread for the system resolver's timeout, and with them every
    // other lookup of the process, the broker's and the database's included.
    useFactory: (config: AppConfig): HostLookup => {
      const resolver = new HostResolver({
        timeoutMs: config.limits.dnsTimeoutMs,
        cacheTtlMs: config.limits.dnsCacheTtlMs,
      });
      return async (host) => (await resolver.lookup(host)).map((answer) => answer.address);
    },
  },
];

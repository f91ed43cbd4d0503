import type { Provider } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { systemLookup, type HostLookup } from './ssrf/endpoint-url';
import { EgressPolicy } from '../domain/egress/ip-classifier';

/** Resolves endpoint host names at registration; tests of the app may override it. */
export const HOST_LOOKUP = Symbol('HOST_LOOKUP');

export const egressProviders: Provider[] = [
  {
    provide: EgressPolicy,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig) => new EgressPolicy(config.security.egressAllowlist),
  },
  { provide: HOST_LOOKUP, useValue: systemLookup satisfies HostLookup },
];

import type { AppConfig } from './config';

/**
 * Settings that boot but that an operator likely did not mean, each a line to log once at start
 * (main.ts). Refusals are not here: those are ConfigErrors (src/config/production.ts).
 */
export function bootWarnings(config: Pick<AppConfig, 'ops'>): string[] {
  const warnings: string[] = [];
  const { ops } = config;
  // The ops routes behind the admin token, and no other credential nor listener for them: a
  // Prometheus scrape config and every dashboard viewer would hold the token that creates tenants.
  if (ops.auth === 'admin' && ops.port === null && ops.tokens.length === 0) {
    warnings.push(
      'HOOKSTREAM_OPS_AUTH=admin with neither HOOKSTREAM_OPS_TOKEN nor OPS_PORT: Prometheus (/metrics) ' +
        'and dashboard viewers would need the admin token, which also creates tenants, mints portal ' +
        'links and replays. Set HOOKSTREAM_OPS_TOKEN (a read-only token for both), or OPS_PORT (the ops ' +
        'routes on a listener of their own, /metrics there without a token)',
    );
  }
  return warnings;
}

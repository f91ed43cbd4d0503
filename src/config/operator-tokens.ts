import type { EnvReader } from './kafka-security';
import { productionTokenProblems } from './production';

const MIN_TOKEN_CHARS = 16;

/**
 * The operator credentials (README Section A, "Configuration"): the admin token admits every
 * operator route; the ops token only the read-only ops routes (metrics, docs, lag, cluster, summary,
 * the dead-letter list). Each may keep older values in its _PREVIOUS list, admitted beside it, so a
 * rolling restart can rotate it.
 */
export interface OperatorTokenValues {
  adminToken: string;
  /** HOOKSTREAM_ADMIN_TOKEN_PREVIOUS. */
  previousAdminTokens: string[];
  /** HOOKSTREAM_OPS_TOKEN, then HOOKSTREAM_OPS_TOKEN_PREVIOUS; empty: no ops token. */
  opsTokens: string[];
}

export function readOperatorTokens(
  read: EnvReader,
  problems: string[],
  production: boolean,
): OperatorTokenValues {
  const adminToken = read('HOOKSTREAM_ADMIN_TOKEN', undefined, singleToken);
  const previousAdminTokens = read('HOOKSTREAM_ADMIN_TOKEN_PREVIOUS', '', tokenList) ?? [];
  const opsToken = read('HOOKSTREAM_OPS_TOKEN', '', (raw) => (raw === '' ? null : singleToken(raw)));
  const previousOpsTokens = read('HOOKSTREAM_OPS_TOKEN_PREVIOUS', '', tokenList) ?? [];
  if (opsToken === null && previousOpsTokens.length > 0) {
    problems.push('HOOKSTREAM_OPS_TOKEN_PREVIOUS: set HOOKSTREAM_OPS_TOKEN too (it lists older ops tokens)');
  }
  const opsTokens = opsToken === null || opsToken === undefined ? [] : [opsToken, ...previousOpsTokens];
  const adminTokens = [adminToken, ...previousAdminTokens];
  // An ops token equal to an admin token would make every ops-token holder an admin.
  if (opsTokens.some((token) => adminTokens.includes(token))) {
    problems.push(
      'HOOKSTREAM_OPS_TOKEN: must differ from HOOKSTREAM_ADMIN_TOKEN and every HOOKSTREAM_ADMIN_TOKEN_PREVIOUS ' +
        '(the ops token is the read-only one)',
    );
  }
  if (production) {
    // Unlike a previous secret key, a previous token still admits requests: it must be as strong.
    const named = (name: string, tokens: string[]) =>
      tokens.map((token, index) => ({
        name: tokens.length > 1 ? `${name} (item ${index + 1})` : name,
        token,
      }));
    for (const { name, token } of [
      ...named('HOOKSTREAM_ADMIN_TOKEN', adminToken === undefined ? [] : [adminToken]),
      ...named('HOOKSTREAM_ADMIN_TOKEN_PREVIOUS', previousAdminTokens),
      ...named('HOOKSTREAM_OPS_TOKEN', opsToken ? [opsToken] : []),
      ...named('HOOKSTREAM_OPS_TOKEN_PREVIOUS', previousOpsTokens),
    ]) {
      problems.push(...productionTokenProblems(name, token));
    }
  }
  return { adminToken, previousAdminTokens, opsTokens };
}

function singleToken(raw: string): string {
  if (raw.length < MIN_TOKEN_CHARS) throw new Error(`must be at least ${MIN_TOKEN_CHARS} characters`);
  return raw;
}

function tokenList(raw: string): string[] {
  const tokens = raw
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
  if (tokens.some((token) => token.length < MIN_TOKEN_CHARS)) {
    throw new Error(`each token must be at least ${MIN_TOKEN_CHARS} characters`);
  }
  return tokens;
}

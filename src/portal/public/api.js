// The tenant credential (an API key or a portal link token), kept for this tab only.
const STORE = 'hookstream.portalToken';

export class ApiError extends Error {
  constructor(status, body) {
    const details = Array.isArray(body?.details) && body.details.length ? `: ${body.details.join('; ')}` : '';
    super(`${body?.message ?? `HTTP ${status}`}${details}`);
    this.status = status;
    this.body = body;
  }
}

export function token() {
  return sessionStorage.getItem(STORE);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(STORE, value);
  else sessionStorage.removeItem(STORE);
}

/**
 * A portal link carries its token in the fragment (`#token=hsp_...`): browsers never send a fragment,
 * so no server log sees it; it is moved into session storage and wiped from the address bar at once.
 */
export function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return false;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/endpoints`);
  return true;
}

/** Calls the tenant REST API; throws ApiError with the server's message on a non-2xx answer. */
export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new ApiError(response.status, parsed);
    if (response.status === 401)
      window.dispatchEvent(new CustomEvent('portal:unauthorized', { detail: error }));
    throw error;
  }
  return { status: response.status, body: parsed };
}

export const get = async (path) => (await api('GET', path)).body;

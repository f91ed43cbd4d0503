/** `strict`: a delivery in retry blocks the endpoint's later ones (README Section B). */
export type OrderingMode = 'none' | 'strict';

/** The most concurrent requests to one endpoint: what the API accepts and the configured default may be. */
export const MAX_ENDPOINT_CONCURRENCY = 100;

/** What the delivery engine's in-memory cache holds per endpoint: enough to match, sign and send. */
export interface EndpointSnapshot {
  id: string;
  tenantId: string;
  url: string;
  eventTypes: string[];
  ordering: OrderingMode;
  enabled: boolean;
  headers: Record<string, string>;
  maxConcurrency: number;
  /** Decrypted `whsec_` secrets active at load time, newest first; all of them sign each delivery. */
  secrets: string[];
  /** ISO expiry of each entry of `secrets` (null: no expiry), same order. */
  secretExpiries: (string | null)[];
  /**
   * Why deliveries to this endpoint cannot be made now although it exists (its signing secret
   * cannot be decrypted with the configured keys, say), or null. Such an endpoint still matches
   * events; its deliveries are dead-lettered with the reason `endpoint_unreadable`.
   */
  problem: string | null;
}

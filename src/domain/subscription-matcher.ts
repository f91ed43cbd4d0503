/**
 * Which endpoints want an event. Patterns are exact event types, `prefix.*` (any type below
 * `prefix.`, at any depth) or `*`; an empty list subscribes to everything the platform publishes.
 * Hookstream's own event types (`hookstream.*`, the operational notifications) are reserved: only
 * a pattern that names them (`hookstream.*`, `hookstream.endpoint.*`, an exact type) matches them,
 * so an endpoint subscribed to everything does not start receiving them unasked (decision 49).
 */

const WILDCARD = '*';
const PREFIX_SUFFIX = '.*';
export const RESERVED_TYPE_PREFIX = 'hookstream.';

export function matchesEventPattern(pattern: string, eventType: string): boolean {
  if (eventType.startsWith(RESERVED_TYPE_PREFIX) && !pattern.startsWith(RESERVED_TYPE_PREFIX)) return false;
  if (pattern === WILDCARD) return true;
  if (pattern.endsWith(PREFIX_SUFFIX)) {
    // Keep the dot: 'record.*' must not match 'recordx.y', nor 'record' itself.
    return startsWithAllBut(eventType, pattern, WILDCARD.length);
  }
  return pattern === eventType;
}

/**
 * `text` is longer than `pattern` less its last `drop` characters and starts with them; compared in
 * place, since every event is matched against each of its tenant's patterns.
 */
function startsWithAllBut(text: string, pattern: string, drop: number): boolean {
  const length = pattern.length - drop;
  if (text.length <= length) return false;
  for (let index = 0; index < length; index++) {
    if (text.charCodeAt(index) !== pattern.charCodeAt(index)) return false;
  }
  return true;
}

export function matchesEventType(patterns: string[], eventType: string): boolean {
  if (patterns.length === 0) return !eventType.startsWith(RESERVED_TYPE_PREFIX);
  // A loop, not `some` with a closure: this runs for every endpoint of the tenant on every event.
  for (const pattern of patterns) if (matchesEventPattern(pattern, eventType)) return true;
  return false;
}

export interface Subscription {
  id: string;
  tenantId: string;
  eventTypes: string[];
  enabled: boolean;
}

/**
 * The in-memory subscription cache the fan-out matches against, indexed by tenant so an event only
 * looks at its own tenant's endpoints. Results keep insertion order (stable across calls).
 */
export class SubscriptionIndex<T extends Subscription> {
  private readonly byId = new Map<string, T>();
  private readonly byTenant = new Map<string, Map<string, T>>();

  upsert(item: T): void {
    const previous = this.byId.get(item.id);
    if (previous !== undefined && previous.tenantId !== item.tenantId) this.removeFromTenant(previous);
    this.byId.set(item.id, item);
    let tenantItems = this.byTenant.get(item.tenantId);
    if (tenantItems === undefined) {
      tenantItems = new Map();
      this.byTenant.set(item.tenantId, tenantItems);
    }
    tenantItems.set(item.id, item);
  }

  /** Returns whether the id was present. */
  remove(id: string): boolean {
    const item = this.byId.get(id);
    if (item === undefined) return false;
    this.byId.delete(id);
    this.removeFromTenant(item);
    return true;
  }

  /** Swaps the whole content, e.g. after a full refresh from the database. */
  replaceAll(items: Iterable<T>): void {
    this.byId.clear();
    this.byTenant.clear();
    for (const item of items) this.upsert(item);
  }

  match(tenantId: string, eventType: string): T[] {
    const tenantItems = this.byTenant.get(tenantId);
    if (tenantItems === undefined) return [];
    const matched: T[] = [];
    for (const item of tenantItems.values()) {
      if (item.enabled && matchesEventType(item.eventTypes, eventType)) matched.push(item);
    }
    return matched;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  all(): T[] {
    return [...this.byId.values()];
  }

  forTenant(tenantId: string): T[] {
    return [...(this.byTenant.get(tenantId)?.values() ?? [])];
  }

  size(): number {
    return this.byId.size;
  }

  private removeFromTenant(item: T): void {
    const tenantItems = this.byTenant.get(item.tenantId);
    if (tenantItems === undefined) return;
    tenantItems.delete(item.id);
    if (tenantItems.size === 0) this.byTenant.delete(item.tenantId);
  }
}

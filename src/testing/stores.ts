/**
 * In-memory versions of the PostgreSQL stores the settler writes, with the same semantics, for
 * unit specs (the real ones are exercised against PostgreSQL by the end-to-end tests).
 */
import type { DeliveryTask } from '../domain/delivery-task';
import { blocksToRead, parkingLot } from '../domain/ordering-key';
import type { StoredHealth } from '../endpoints/endpoint-health.repository';
import type { HeldDelivery, HoldRequest } from '../retry/held-deliveries';
import type { ParkedDelivery, ParkResult } from '../retry/strict-parking';

export class InMemoryHeldDeliveries {
  readonly rows: Array<HoldRequest & { id: number }> = [];
  failWith: Error | null = null;
  private nextId = 1;

  async hold(request: HoldRequest): Promise<void> {
    if (this.failWith) throw this.failWith;
    // One row per delivery, as the unique index on (endpoint_id, delivery_id) keeps it.
    const already = this.rows.some(
      (row) => row.endpointId === request.endpointId && row.deliveryId === request.deliveryId,
    );
    if (!already) this.rows.push({ ...request, id: this.nextId++ });
  }

  async endpoints(): Promise<string[]> {
    return [...new Set(this.rows.map((row) => row.endpointId))].sort();
  }

  async release(endpointId: string, limit: number, handOn: (held: HeldDelivery[]) => Promise<void>) {
    const picked = this.rows
      .filter((row) => row.endpointId === endpointId)
      .sort((a, b) => a.publishedAtMs - b.publishedAtMs || a.id - b.id)
      .slice(0, limit);
    return this.handOn(picked, handOn);
  }

  async releaseExpired(cutoffMs: number, limit: number, handOn: (held: HeldDelivery[]) => Promise<void>) {
    const picked = this.rows.filter((row) => (row.state.firstAttemptAtMs ?? 0) < cutoffMs).slice(0, limit);
    return this.handOn(picked, handOn);
  }

  async count(): Promise<number> {
    return this.rows.length;
  }

  async discard(endpointId: string): Promise<number> {
    const before = this.rows.length;
    this.rows.splice(0, this.rows.length, ...this.rows.filter((row) => row.endpointId !== endpointId));
    return before - this.rows.length;
  }

  private async handOn(
    picked: Array<HoldRequest & { id: number }>,
    handOn: (held: HeldDelivery[]) => Promise<void>,
  ) {
    if (picked.length === 0) return 0;
    await handOn(picked.map(({ endpointId, task, state }) => ({ endpointId, task, state })));
    for (const row of picked) this.rows.splice(this.rows.indexOf(row), 1);
    return picked.length;
  }
}

export class InMemoryStrictParking {
  /** `endpointId/key` -> the blocking delivery. */
  readonly blocks = new Map<string, string>();
  /** The `endpointId/key` blocks made for the whole stream (decision 74). */
  readonly wholeStreamBlocks = new Set<string>();
  readonly parked: Array<ParkedDelivery & { key: string }> = [];
  private nextId = 1;

  async park(task: DeliveryTask, key: string, encoded: Buffer, wholeStream: boolean): Promise<ParkResult> {
    const found = blocksToRead(key, wholeStream, task.orderingKey).filter((read) =>
      this.blocks.has(`${task.endpointId}/${read}`),
    );
    if (found.some((read) => this.blocks.get(`${task.endpointId}/${read}`) === task.deliveryId)) {
      return 'is-blocker';
    }
    const views = found.map((read) => ({
      key: read,
      wholeStream: this.wholeStreamBlocks.has(`${task.endpointId}/${read}`),
    }));
    const lot = parkingLot(key, wholeStream, task.orderingKey, views);
    if (lot === null) return 'not-blocked';
    this.parked.push({ id: String(this.nextId++), key: lot, task, encoded });
    return 'parked';
  }

  async block(endpointId: string, key: string, deliveryId: string, wholeStream: boolean): Promise<void> {
    // A delivery already blocking a key keeps it, as the SQL does.
    if (this.blockedKey(endpointId, deliveryId) !== null) return;
    const name = `${endpointId}/${key}`;
    if (!this.blocks.has(name) && wholeStream) this.wholeStreamBlocks.add(name);
    this.blocks.set(name, deliveryId);
  }

  async isBlocking(endpointId: string, deliveryId: string): Promise<boolean> {
    return this.blockedKey(endpointId, deliveryId) !== null;
  }

  async nextParked(endpointId: string, finishedDeliveryId: string) {
    const key = this.blockedKey(endpointId, finishedDeliveryId);
    if (key === null) return null;
    // Its own leftover row (handed on, not unparked) is dropped, as the SQL does.
    const own = this.parked.findIndex(
      (parked) => parked.task.endpointId === endpointId && parked.task.deliveryId === finishedDeliveryId,
    );
    if (own >= 0) this.parked.splice(own, 1);
    const next = this.parked.find((parked) => parked.task.endpointId === endpointId && parked.key === key);
    if (!next) {
      this.blocks.delete(`${endpointId}/${key}`);
      this.wholeStreamBlocks.delete(`${endpointId}/${key}`);
      return null;
    }
    this.blocks.set(`${endpointId}/${key}`, next.task.deliveryId);
    return next;
  }

  /**
   * Blockers still in the parking lot (promoted, never handed on). No clock here: the grace period
   * and the claim are the SQL's, tested on PostgreSQL (test/retry/strict-parking.int-spec.ts).
   */
  async unreleased(_graceMs: number, limit: number) {
    return this.parked
      .filter(
        (parked) => this.blocks.get(`${parked.task.endpointId}/${parked.key}`) === parked.task.deliveryId,
      )
      .slice(0, limit);
  }

  /** Endpoints no longer strict, as the SQL reads them from `endpoints`; set by the test. */
  readonly unordered = new Set<string>();

  async parkedOfUnordered(limit: number) {
    for (const name of [...this.blocks.keys()]) {
      if (this.unordered.has(name.slice(0, name.indexOf('/')))) {
        this.blocks.delete(name);
        this.wholeStreamBlocks.delete(name);
      }
    }
    return this.parked.filter((parked) => this.unordered.has(parked.task.endpointId)).slice(0, limit);
  }

  async unpark(id: string): Promise<void> {
    const index = this.parked.findIndex((parked) => parked.id === id);
    if (index >= 0) this.parked.splice(index, 1);
  }

  private blockedKey(endpointId: string, deliveryId: string): string | null {
    for (const [name, blocker] of this.blocks) {
      if (blocker === deliveryId && name.startsWith(`${endpointId}/`))
        return name.slice(endpointId.length + 1);
    }
    return null;
  }
}

/** `endpoint_health` in memory: the failing endpoints' stored circuits. */
export class InMemoryEndpointHealthStore {
  readonly rows = new Map<string, StoredHealth>();
  saves = 0;

  async save(failing: StoredHealth[], recovered: string[]): Promise<void> {
    this.saves += 1;
    for (const row of failing) this.rows.set(row.endpointId, { ...row });
    for (const endpointId of recovered) this.rows.delete(endpointId);
  }

  async all(): Promise<StoredHealth[]> {
    return [...this.rows.values()].map((row) => ({ ...row }));
  }
}

/**
 * In-memory versions of the PostgreSQL stores the settler writes, with the same semantics, for
 * unit specs (the real ones are exercised against PostgreSQL by the end-to-end tests).
 */
import type { DeliveryTask } from '../domain/delivery-task';
import type { StoredHealth } from '../endpoints/endpoint-health.repository';
import type { HeldDelivery, HoldRequest } from '../retry/held-deliveries';
import type { ParkResult } from '../retry/strict-parking';

export class InMemoryHeldDeliveries {
  readonly rows: Array<HoldRequest & { id: number }> = [];
  failWith: Error | null = null;
  private nextId = 1;

  async hold(request: HoldRequest): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.rows.push({ ...request, id: this.nextId++ });
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
  readonly blocks = new Map<string, string>();
  readonly parked: Array<{ id: string; task: DeliveryTask; encoded: Buffer }> = [];
  private nextId = 1;

  async park(task: DeliveryTask, encoded: Buffer): Promise<ParkResult> {
    const blocker = this.blocks.get(task.endpointId);
    if (blocker === undefined) return 'not-blocked';
    if (blocker === task.deliveryId) return 'is-blocker';
    this.parked.push({ id: String(this.nextId++), task, encoded });
    return 'parked';
  }

  async block(endpointId: string, deliveryId: string): Promise<void> {
    this.blocks.set(endpointId, deliveryId);
  }

  async blocker(endpointId: string): Promise<string | null> {
    return this.blocks.get(endpointId) ?? null;
  }

  async nextParked(endpointId: string, finishedDeliveryId: string) {
    if (this.blocks.get(endpointId) !== finishedDeliveryId) return null;
    const next = this.parked.find((parked) => parked.task.endpointId === endpointId);
    if (!next) {
      this.blocks.delete(endpointId);
      return null;
    }
    this.blocks.set(endpointId, next.task.deliveryId);
    return next;
  }

  async unpark(id: string): Promise<void> {
    const index = this.parked.findIndex((parked) => parked.id === id);
    if (index >= 0) this.parked.splice(index, 1);
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

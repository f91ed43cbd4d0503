import { Injectable } from '@nestjs/common';
import type { PartitionHandover } from './watermark-consumer';

/** Inject to reach the handover the delivery consumer uses, or to `attach` the real one at startup. */
export const PARTITION_HANDOVER = Symbol('PARTITION_HANDOVER');

/**
 * Until a module above attaches how partitions are handed over (the delivery module, which keeps
 * ownership in PostgreSQL: src/delivery/partition-owners.ts), a gained partition starts at once and
 * a lost one is released to nobody: right for a single process.
 */
@Injectable()
export class SwitchablePartitionHandover implements PartitionHandover {
  private source: PartitionHandover | null = null;

  attach(source: PartitionHandover | null): void {
    this.source = source;
  }

  acquire(indexes: number[], stillOwned: (index: number) => boolean): Promise<void> {
    return this.source ? this.source.acquire(indexes, stillOwned) : Promise.resolve();
  }

  release(indexes: number[]): Promise<void> {
    return this.source ? this.source.release(indexes) : Promise.resolve();
  }
}

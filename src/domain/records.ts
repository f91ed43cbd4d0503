/**
 * Records as Hookstream reads and writes them, independent of the Kafka client: handlers, the
 * settlement policy and the dead-letter builder see these, never a client's types.
 */

/**
 * Record headers as a Kafka client hands them over or takes them (the client's own header type):
 * a value may be bytes, text, or repeated.
 */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/** One consumed record. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The key's bytes as they arrived, for copies that must keep them (dead letters). */
  rawKey?: Buffer | null;
  value: Buffer | null;
  /** Each header as text (the last value of a repeated one). */
  headers: Record<string, string>;
  /** The headers exactly as they arrived, for copies that must keep them byte for byte (dead letters). */
  rawHeaders?: RecordHeaders;
  timestampMs: number;
  /**
   * Whether this consumer still owns the record's partition. False once a rebalance moved it to
   * another member: work not yet started on the record must not start (the new owner reads it again).
   */
  stillOwned?(): boolean;
}

/** The records of one fetch of one partition, in offset order. */
export interface ConsumedBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  /**
   * Throws RecordWithdrawn once this member may no longer own the batch's partition (a rebalance has
   * begun, or moved it). The handler calls it before each write: a batch another member took over
   * is not written after that member's newer ones (README decision 99). Absent: always owned.
   */
  assertOwned?(): void;
}

/** A record as Hookstream writes it. */
export interface OutgoingRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeaders;
}

/** Where a record was read: `topic/partition/offset`. */
export function positionOf(record: Pick<ConsumedRecord, 'topic' | 'partition' | 'offset'>): string {
  return `${record.topic}/${record.partition}/${record.offset}`;
}

/**
 * Thrown by a handler that did not handle a record because its partition moved to another member
 * (a rebalance, a stop) before the work started. The record is not finished: the consumer leaves it
 * uncommitted, and the partition's next owner reads it again.
 */
export class RecordWithdrawn extends Error {
  constructor(message = "the record's partition moved before its work started") {
    super(message);
    this.name = 'RecordWithdrawn';
  }
}

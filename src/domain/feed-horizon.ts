/**
 * The transaction holding the events feed's horizon back, as one read of PostgreSQL saw it: the
 * running (or prepared) transaction with the oldest xid on the cluster, which is the feed's
 * snapshot xmin (README decision 40). Null when no transaction holds an xid.
 */
export interface HorizonHolder {
  /** Its xid (as text: a 64-bit xid8 or a 32-bit xid, compared only for equality). */
  xid: string;
  /** Seconds since it began, or null when PostgreSQL hides that (another role's session). */
  ageSeconds: number | null;
  /** The database's clock at the read, in epoch seconds, so no other clock is compared with it. */
  readAtSeconds: number;
}

/**
 * How long the feed's tail has waited: the age of the transaction holding its horizon. A holder of
 * another role shows its xid but not its start without pg_read_all_stats; its age is then counted
 * from the first read that saw it hold the horizon (an understatement by up to one read interval).
 */
export class FeedHorizonLag {
  private firstSeen: { xid: string; atSeconds: number } | null = null;

  /** The lag in seconds for a read; 0 when nothing holds an xid. */
  observe(holder: HorizonHolder | null): number {
    if (holder === null) {
      this.firstSeen = null;
      return 0;
    }
    if (this.firstSeen?.xid !== holder.xid)
      this.firstSeen = { xid: holder.xid, atSeconds: holder.readAtSeconds };
    if (holder.ageSeconds !== null) return Math.max(0, holder.ageSeconds);
    return Math.max(0, holder.readAtSeconds - this.firstSeen.atSeconds);
  }
}

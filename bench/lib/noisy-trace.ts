/**
 * BENCH_NN_TRACE=<prefix>: the noisy-neighbour phase writes `<prefix>-<round>.json` after each
 * round, with every quiet delivery of its two latency (paced) runs as `[sentAtMs, latencyMs]` and
 * the bench process's own event-loop stalls (`[atMs, stalledMs]`, over 30 ms), so a tail can be
 * placed in time: against the service's GC (BENCH_NN_TRACE_GC=1 in `npm run bench:noisy` adds
 * `--trace-gc` to the service) or the noise's timers, and told from a stall of the bench itself.
 */
import { writeFileSync } from 'node:fs';

const STALL_MS = 30;
const TICK_MS = 5;

export class NoisyTrace {
  private readonly stalls: Array<[number, number]> = [];
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly prefix: string) {
    let last = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      if (now - last > STALL_MS + TICK_MS) this.stalls.push([last, now - last]);
      last = now;
    }, TICK_MS);
    this.timer.unref();
  }

  static fromEnv(): NoisyTrace | null {
    const prefix = process.env.BENCH_NN_TRACE;
    return prefix ? new NoisyTrace(prefix) : null;
  }

  write(round: number, alone: Array<[number, number]>, withNoise: Array<[number, number]>): void {
    writeFileSync(
      `${this.prefix}-${round}.json`,
      JSON.stringify({ alone, withNoise, benchStalls: this.stalls }),
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

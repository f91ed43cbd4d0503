/**
 * The fault schedule of bench/chaos.ts, played while the events flow: SIGKILLs of the service, a
 * Kafka broker restart (with a kill inside its outage) and a PostgreSQL stop, each recorded.
 */
import { CONFIG, SMOKE } from './chaos-config';
import type { ChaosSupervisor } from './chaos-supervisor';
import { infra, secondsSince } from './faults';
import { sleep } from './service';
import { round } from './stats';

export interface FaultRecord {
  atS: number;
  fault: string;
  tookS?: number;
  note?: string;
}

export class FaultSchedule {
  readonly faults: FaultRecord[] = [];
  /** True while PostgreSQL is stopped (or failed to start again): the run must start it at the end. */
  pgStopped = false;

  constructor(
    private readonly options: {
      supervisor: ChaosSupervisor;
      /** When the run started (ms), for each fault's atS. */
      started: number;
      log: (message: string) => void;
    },
  ) {}

  private async kill(n: number, whileDown?: () => Promise<void>): Promise<void> {
    const t0 = Date.now();
    await this.options.supervisor.killAndRestart(n, whileDown);
    this.faults.push({
      atS: round((t0 - this.options.started) / 1000, 1),
      fault: `SIGKILL #${n} + restart`,
      tookS: secondsSince(t0),
    });
  }

  /** Plays the faults, in sequence; `at(fraction)` waits until that much of the publishing is done. */
  async run(at: (fraction: number) => Promise<void>): Promise<void> {
    const { started, log } = this.options;
    const faults = this.faults;
    let kills = 0;
    await at(0.1);
    await this.kill(++kills);
    if (CONFIG.brokerRestart) {
      await at(0.25);
      const t0 = Date.now();
      log('restarting the Kafka broker (scripts/infra.sh kafka-stop, then kafka-start)');
      let code = await infra('kafka-stop');
      const start = async (): Promise<void> => {
        if (code === 0) code = await infra('kafka-start');
        faults.push({
          atS: round((t0 - started) / 1000, 1),
          fault: 'Kafka broker restart',
          tookS: secondsSince(t0),
          note: `exit ${code}`,
        });
        log(`Kafka broker back (exit ${code}) after ${secondsSince(t0)} s`);
        if (code !== 0) throw new Error('kafka-stop or kafka-start failed');
      };
      if (kills < CONFIG.kills) {
        // Killed while the broker is down: settlements whose tier writes are still retrying die
        // half done (a strict hand-on between its promotion and its tier write, decision 62).
        await sleep(CONFIG.killInOutageAfterS * 1000);
        await this.kill(++kills, start);
      } else {
        await start();
      }
    }
    if (kills < CONFIG.kills) {
      await at(0.4);
      await this.kill(++kills);
    }
    await at(SMOKE ? 0.5 : 0.55);
    {
      const t0 = Date.now();
      log(`stopping PostgreSQL for ${CONFIG.pgPauseS} s`);
      this.pgStopped = true;
      const stopCode = await infra('pg-stop');
      await sleep(CONFIG.pgPauseS * 1000);
      const startCode = await infra('pg-start');
      this.pgStopped = startCode !== 0;
      faults.push({
        atS: round((t0 - started) / 1000, 1),
        fault: `PostgreSQL stopped for ${CONFIG.pgPauseS} s`,
        tookS: secondsSince(t0),
        note: `pg-stop exit ${stopCode}, pg-start exit ${startCode}`,
      });
      log(`PostgreSQL started again (exit ${startCode})`);
    }
    while (kills < CONFIG.kills) {
      await at(Math.min(1, 0.7 + 0.15 * (kills - 2)));
      await sleep(2_000);
      await this.kill(++kills);
    }
  }
}

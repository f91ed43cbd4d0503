/**
 * The service under bench/chaos.ts: booted with retries, restarted when it exits on its own
 * (counted as unplanned), SIGKILLed and restarted on purpose, with every process's log kept.
 */
import { sleep, startService, type Service } from './service';

export class ChaosSupervisor {
  /** The running service; replaced at every restart. */
  service: Service | undefined;
  /** Set while the service is killed or stopped on purpose, so its exit does not restart it. */
  plannedKill = false;
  unplannedExits = 0;
  restarts = 0;
  /** Every service's log, kills and restarts included. */
  readonly logPaths: string[] = [];
  private env: Record<string, string> = {};

  constructor(private readonly log: (message: string) => void) {}

  /** Boots the first service with `env` (kept for every restart). */
  async start(env: Record<string, string>, label: string): Promise<Service> {
    this.env = env;
    this.service = await this.boot(label);
    return this.service;
  }

  async boot(label: string): Promise<Service> {
    const deadline = Date.now() + 180_000;
    for (let attempt = 1; ; attempt++) {
      try {
        const s = await startService(this.env, { label, readyTimeoutMs: 90_000 });
        this.logPaths.push(s.logPath);
        s.process.once('exit', (code, signal) => {
          if (this.plannedKill) return;
          this.unplannedExits++;
          this.log(`service exited on its own (code ${code}, signal ${signal}); restarting`);
          void this.boot(`${label}-after-exit`).then((next) => (this.service = next));
        });
        return s;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        this.log(`boot attempt ${attempt} failed (${(error as Error).message.split('\n')[0]}); retrying`);
        await sleep(2_000);
      }
    }
  }

  /** SIGKILL #n, then `whileDown` (if any), then a restart. */
  async killAndRestart(n: number, whileDown?: () => Promise<void>): Promise<void> {
    this.plannedKill = true;
    await this.service!.kill();
    this.plannedKill = false;
    this.log(`SIGKILL #${n} (pid ${this.service!.pid}); restarting`);
    await whileDown?.();
    this.service = await this.boot(`chaos-service-restart-${n}`);
    this.restarts++;
  }

  lastError(): string {
    const errors = (this.service?.logs ?? []).filter((l) => typeof l.level === 'number' && l.level >= 50);
    return errors.length ? String(errors[errors.length - 1].msg).slice(0, 300) : 'none logged';
  }
}

import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** CPU used over a phase, in percent of one core (200 = both cores of a 2-core machine), and in seconds. */
export interface CpuShares {
  service: number;
  kafka: number;
  postgres: number;
  /** The bench process: the producer of events and the receiver of deliveries. */
  bench: number;
  other: number;
  idle: number;
  /** The service's share by process, when the meter was given names for the service pids. */
  byService?: Record<string, number>;
  /** CPU seconds used over the phase by each group: the shares above are rounded, these are not. */
  seconds: Record<Group, number>;
}

type Group = 'service' | 'kafka' | 'postgres' | 'bench';

/** Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ) on every usual build. */
const TICKS_PER_SECOND = 100;

interface Snapshot {
  totalJiffies: number;
  idleJiffies: number;
  /** CPU time so far of every process of a group, by pid. */
  byPid: Map<number, { group: Group; jiffies: number }>;
}

/**
 * Who used the CPU during a phase, from /proc (Linux only; null elsewhere): the service, the Kafka
 * broker, PostgreSQL (all its backends), this bench process, everything else, and what stayed idle.
 * It tells whether a phase was bound by the service's one JavaScript thread or by the machine.
 */
export class CpuMeter {
  private constructor(
    private readonly servicePids: () => number[],
    private readonly start: Snapshot,
    private readonly nameOf?: (pid: number) => string | undefined,
  ) {}

  /** `nameOf` names each service process, to split the service's share by process (several replicas). */
  static start(servicePids: () => number[], nameOf?: (pid: number) => string | undefined): CpuMeter | null {
    const snapshot = takeSnapshot(servicePids());
    return snapshot ? new CpuMeter(servicePids, snapshot, nameOf) : null;
  }

  stop(): CpuShares | null {
    const end = takeSnapshot(this.servicePids());
    if (!end) return null;
    const coreJiffies = (end.totalJiffies - this.start.totalJiffies) / cpus().length;
    if (coreJiffies <= 0) return null;
    const pct = (jiffies: number): number => Math.round((100 * jiffies) / coreJiffies);
    // Per process, so one that exits during the phase (a PostgreSQL backend) is left out rather
    // than subtracted; one that started during it counts in full.
    const used: Record<Group, number> = { service: 0, kafka: 0, postgres: 0, bench: 0 };
    const byName: Record<string, number> = {};
    for (const [pid, { group, jiffies }] of end.byPid) {
      const delta = jiffies - (this.start.byPid.get(pid)?.jiffies ?? 0);
      used[group] += delta;
      const name = group === 'service' ? this.nameOf?.(pid) : undefined;
      if (name) byName[name] = (byName[name] ?? 0) + delta;
    }
    const groups = Object.keys(used) as Group[];
    const shares = Object.fromEntries(groups.map((group) => [group, pct(used[group])])) as Record<
      Group,
      number
    >;
    const idle = pct(end.idleJiffies - this.start.idleJiffies);
    const busy = cpus().length * 100 - idle;
    const accounted = groups.reduce((sum, group) => sum + shares[group], 0);
    const byService = this.nameOf
      ? Object.fromEntries(Object.entries(byName).map(([name, jiffies]) => [name, pct(jiffies)]))
      : undefined;
    const seconds = Object.fromEntries(
      groups.map((group) => [group, used[group] / TICKS_PER_SECOND]),
    ) as Record<Group, number>;
    return {
      ...shares,
      other: Math.max(0, busy - accounted),
      idle,
      ...(byService ? { byService } : {}),
      seconds,
    };
  }
}

function takeSnapshot(servicePids: number[]): Snapshot | null {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  // cpu  user nice system idle iowait irq softirq steal ...
  const fields = stat.split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const byPid: Snapshot['byPid'] = new Map();
  const services = new Set(servicePids);
  const seen: Array<{ pid: number; parent: number; jiffies: number; group: Group | null }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      // ppid is field 4, utime and stime fields 14 and 15, counted after the parenthesised name.
      const after = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(' ');
      const group = services.has(pid)
        ? 'service'
        : pid === process.pid
          ? 'bench'
          : classify(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      seen.push({ pid, parent: Number(after[1]), jiffies: Number(after[11]) + Number(after[12]), group });
    } catch {
      // the process ended between the listing and the read
    }
  }
  for (const { pid, parent, jiffies, group } of seen) {
    // A service's workers (HOOKSTREAM_WORKERS) are its children: they are the service too.
    const counted = services.has(parent) ? 'service' : group;
    if (counted) byPid.set(pid, { group: counted, jiffies });
  }
  return {
    totalJiffies: fields.reduce((sum, value) => sum + value, 0),
    idleJiffies: fields[3] + fields[4],
    byPid,
  };
}

function classify(cmdline: string): 'kafka' | 'postgres' | null {
  if (cmdline.includes('kafka.Kafka')) return 'kafka';
  if (cmdline.startsWith('postgres') || cmdline.includes('/bin/postgres')) return 'postgres';
  return null;
}

/**
 * Microseconds of CPU per delivery over a phase: the service alone, and the service with the Kafka
 * broker (which serves its fetches and produces). Per delivery rather than per second, so a noisy
 * shared machine moves it less than it moves throughput.
 */
export function cpuPerDeliveryUs(
  cpu: CpuShares | null,
  deliveries: number,
): { service: number; serviceAndBroker: number } | null {
  if (!cpu || deliveries <= 0) return null;
  const perDelivery = (seconds: number) => Math.round((seconds * 1e6) / deliveries);
  return {
    service: perDelivery(cpu.seconds.service),
    serviceAndBroker: perDelivery(cpu.seconds.service + cpu.seconds.kafka),
  };
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  /** Share of the busy (non-idle) time, by where the sampled code lives, self time only. */
  busyPercentBySource: Record<string, number>;
  idlePercent: number;
  topFunctionsPercentOfBusy: Array<{ fn: string; percent: number }>;
}

/**
 * Summarises the newest V8 `.cpuprofile` in `dir` (the service run with --cpu-prof, see
 * BENCH_PROFILE_DIR): self time grouped by package, by module of src/, and by V8 bucket (GC,
 * native socket writes), so "where the time goes" is a table rather than a guess.
 */
export function summariseNewestProfile(dir: string): ProfileSummary | null {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(dir, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) return null;
  const profile = JSON.parse(readFileSync(files[0], 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) =>
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)),
  );
  const bySource = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, micros] of selfMicros) {
    const frame = frames.get(id)!;
    total += micros;
    if (frame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    const source = sourceOf(frame);
    bySource.set(source, (bySource.get(source) ?? 0) + micros);
    const fn = `${source} ${frame.functionName || '(anonymous)'}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  }
  const busy = total - idle;
  const percent = (micros: number): number => Math.round((1000 * micros) / Math.max(1, busy)) / 10;
  const ranked = (map: Map<string, number>, limit: number): Array<[string, number]> =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit);
  return {
    file: files[0],
    sampledMs: Math.round(total / 1000),
    busyPercentBySource: Object.fromEntries(
      ranked(bySource, 25).map(([source, micros]) => [source, percent(micros)]),
    ),
    idlePercent: Math.round((1000 * idle) / Math.max(1, total)) / 10,
    topFunctionsPercentOfBusy: ranked(byFunction, 25).map(([fn, micros]) => ({
      fn,
      percent: percent(micros),
    })),
  };
}

function sourceOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === 'writev' || functionName === 'writeBuffer' || functionName === 'writeUtf8String') {
      return '(native socket writes)';
    }
    return functionName.startsWith('(') ? functionName : '(native)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  const own = /\/dist\/([^/]+)\//.exec(url);
  if (own) return `src/${own[1]}`;
  if (url.startsWith('node:'))
    return `node:${url.slice(5).split('/')[0] === 'internal' ? url.slice(14).split('/')[0] : url.slice(5)}`;
  if (url.startsWith('wasm://')) return 'wasm (undici llhttp)';
  return url;
}

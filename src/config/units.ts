/** Parsers for human-written durations (`500ms`, `5s`, `2m`, `1h`, `5d`) and sizes (`256KiB`, `1MiB`). */

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1024 * 1024 };

export function parseDurationMs(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 5s, 2m, 1h, 5d)`);
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2].toLowerCase()]);
}

export function parseSizeBytes(text: string): number {
  const match = /^\s*(\d+)\s*(b|kb|kib|mb|mib)?\s*$/i.exec(text);
  if (!match) throw new Error(`"${text}" is not a size (use e.g. 65536, 64KiB, 1MiB)`);
  return Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()];
}

/** The shortest exact spelling of a duration, used in topic names: 5000 -> "5s", 120000 -> "2m". */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS_MS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * What the noisy-neighbour phase (bench/lib/noisy-neighbour.ts) reads from the service's /metrics:
 * its ingest-rate refusals, the counters that say where the noise's cost went, and the limits in force.
 */

/** The service's own count of POST /v1/events refused for the ingest rate. */
export async function ingestRejections(serviceUrl: string): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const match = /^hookstream_quota_rejections_total\{quota="ingest_rate"\} (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}

/** The service's counters that tell where the noise's cost went: outcomes, holding, pauses. */
const WORK_COUNTERS =
  /^(hookstream_deliveries_total|hookstream_held_released_total|hookstream_held_turned_away_total|hookstream_partition_pauses_total|hookstream_quota_rejections_total)(\{[^}]*\})? (\S+)$/gm;

export async function serviceCounters(serviceUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  return new Map(
    [...text.matchAll(WORK_COUNTERS)].map(([, name, labels, value]) => [
      name + (labels ?? ''),
      Number(value),
    ]),
  );
}

export function addDeltas(
  into: Record<string, number>,
  before: Map<string, number>,
  after: Map<string, number>,
): void {
  for (const [series, value] of after) {
    const delta = value - (before.get(series) ?? 0);
    if (delta) into[series] = (into[series] ?? 0) + delta;
  }
}

/** The limits as the service reports them (`hookstream_limit{name}`), proof of what was in force. */
export async function reportedLimits(serviceUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const limits: Record<string, number> = {};
  for (const [, name, value] of text.matchAll(/^hookstream_limit\{name="([^"]+)"\} (\S+)$/gm)) {
    limits[name] = Number(value);
  }
  return limits;
}

/**
 * Sums the `kafka_consumergroup_lag` samples of one group (of one of its topics, if given: the
 * delivery group reads the deliveries topic and every retry tier) in a Prometheus text exposition.
 */
export function lagFromMetrics(
  text: string,
  group: string,
  topic?: string,
): { total: number; series: number } {
  let total = 0;
  let series = 0;
  for (const line of text.split('\n')) {
    const match = /^kafka_consumergroup_lag\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as const),
    );
    if (labels.consumergroup !== group || (topic !== undefined && labels.topic !== topic)) continue;
    expect(Object.keys(labels).sort()).toEqual(['consumergroup', 'partition', 'topic']);
    total += Number(match[2]);
    series += 1;
  }
  return { total, series };
}

/** A hand-written SVG: throughput bars (left) and latency p50/p99 by publish rate (right). */
export function renderChart(results: {
  httpCeilingPerSec: number;
  kafkaConsumeCeilingPerSec: number;
  e2eDeliveriesPerSec: number;
  e2eFanout5DeliveriesPerSec: number | null;
  latency: Array<{ rate: number; p50Ms: number; p99Ms: number }>;
  isolation: { ratio: number | null };
  peakRssMb: number;
  machine: Record<string, unknown>;
}): string {
  const width = 960;
  const height = 420;
  const parts: string[] = [];
  const text = (x: number, y: number, s: string, attrs = ''): void => {
    parts.push(`<text x="${x}" y="${y}" ${attrs}>${escape(s)}</text>`);
  };

  // Left panel: throughput, horizontal bars on a log10 scale (the ceilings dwarf the e2e figures).
  const bars: Array<[string, number | null, string]> = [
    ['HTTP ceiling (undici)', results.httpCeilingPerSec, '#8da0cb'],
    ['Kafka consume ceiling', results.kafkaConsumeCeilingPerSec, '#8da0cb'],
    ['e2e fan-out 1', results.e2eDeliveriesPerSec, '#66c2a5'],
    ['e2e fan-out 5', results.e2eFanout5DeliveriesPerSec, '#66c2a5'],
  ];
  const left = { x: 190, y: 60, w: 270, barH: 34, gap: 18 };
  const maxLog = Math.ceil(Math.log10(Math.max(10, ...bars.map(([, v]) => v ?? 0))));
  const scale = (v: number): number => (Math.log10(Math.max(1, v)) / maxLog) * left.w;
  text(20, 32, 'Throughput (deliveries or messages per second, log scale)', 'font-weight="bold"');
  for (let decade = 1; decade <= maxLog; decade++) {
    const x = left.x + (decade / maxLog) * left.w;
    parts.push(
      `<line x1="${x}" y1="${left.y - 8}" x2="${x}" y2="${left.y + 4 * (left.barH + left.gap)}" stroke="#ddd"/>`,
    );
    text(x - 10, left.y + 4 * (left.barH + left.gap) + 14, `1e${decade}`, 'font-size="10" fill="#666"');
  }
  bars.forEach(([label, value, colour], i) => {
    const y = left.y + i * (left.barH + left.gap);
    text(20, y + left.barH / 2 + 4, label);
    if (value === null) {
      text(left.x + 6, y + left.barH / 2 + 4, 'failed (see errors in the JSON)', 'fill="#d62728"');
      return;
    }
    parts.push(
      `<rect x="${left.x}" y="${y}" width="${scale(value).toFixed(1)}" height="${left.barH}" fill="${colour}"/>`,
    );
    text(
      left.x + scale(value) + 6,
      y + left.barH / 2 + 4,
      Math.round(value).toLocaleString('en-US'),
      'font-size="12"',
    );
  });

  // Right panel: grouped bars p50/p99 per rate with the 50 ms target line.
  const right = { x: 560, y: 60, w: 360, h: 240 };
  text(right.x - 40, 32, 'Event-to-delivery latency by publish rate (ms)', 'font-weight="bold"');
  const maxMs = Math.max(60, ...results.latency.map((l) => l.p99Ms)) * 1.1;
  const yOf = (ms: number): number => right.y + right.h - (ms / maxMs) * right.h;
  parts.push(
    `<line x1="${right.x}" y1="${right.y + right.h}" x2="${right.x + right.w}" y2="${right.y + right.h}" stroke="#333"/>`,
  );
  parts.push(
    `<line x1="${right.x}" y1="${right.y}" x2="${right.x}" y2="${right.y + right.h}" stroke="#333"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const ms = (maxMs / 4) * i;
    text(right.x - 36, yOf(ms) + 4, ms.toFixed(0), 'font-size="10" fill="#666"');
  }
  parts.push(
    `<line x1="${right.x}" y1="${yOf(50)}" x2="${right.x + right.w}" y2="${yOf(50)}" stroke="#d62728" stroke-dasharray="5,4"/>`,
  );
  text(right.x + right.w - 90, yOf(50) - 4, 'p99 target 50 ms', 'font-size="10" fill="#d62728"');
  const group = right.w / Math.max(1, results.latency.length);
  results.latency.forEach((l, i) => {
    const gx = right.x + i * group + group * 0.2;
    const bw = group * 0.28;
    parts.push(
      `<rect x="${gx}" y="${yOf(l.p50Ms)}" width="${bw}" height="${right.y + right.h - yOf(l.p50Ms)}" fill="#66c2a5"/>`,
    );
    parts.push(
      `<rect x="${gx + bw}" y="${yOf(l.p99Ms)}" width="${bw}" height="${right.y + right.h - yOf(l.p99Ms)}" fill="#fc8d62"/>`,
    );
    text(gx, yOf(l.p50Ms) - 4, String(l.p50Ms), 'font-size="10"');
    text(gx + bw, yOf(l.p99Ms) - 4, String(l.p99Ms), 'font-size="10"');
    text(gx, right.y + right.h + 16, `${l.rate.toLocaleString('en-US')}/s`, 'font-size="12"');
  });
  parts.push(`<rect x="${right.x + 10}" y="${right.y + 4}" width="10" height="10" fill="#66c2a5"/>`);
  text(right.x + 24, right.y + 13, 'p50', 'font-size="11"');
  parts.push(`<rect x="${right.x + 60}" y="${right.y + 4}" width="10" height="10" fill="#fc8d62"/>`);
  text(right.x + 74, right.y + 13, 'p99', 'font-size="11"');

  const m = results.machine;
  text(
    20,
    height - 40,
    `isolation ratio ${results.isolation.ratio ?? 'failed'}   peak RSS ${results.peakRssMb} MB`,
    'font-size="13"',
  );
  text(
    20,
    height - 18,
    `${String(m.cpus)} CPUs, ${String(m.memoryGb)} GiB, Node ${String(m.node)}, Kafka ${String(m.kafka)}, ${String(m.date)}, commit ${String(m.gitCommit).slice(0, 10)}`,
    'font-size="11" fill="#555"',
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

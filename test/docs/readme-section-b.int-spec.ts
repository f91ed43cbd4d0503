/** README.md Section B: the benchmark and chaos figures, as bench/results/*.json has them. */
import {
  at,
  codeSpansOf,
  figuresIn,
  paragraphs,
  parseFigure,
  section,
  statesFigure,
  type LineRange,
  type Located,
  type Table,
} from './markdown';
import { readJson } from './repo-facts';
import { README, tableIn } from './documents';

const BENCH = readJson('bench/results/latest.json');
const CHAOS = readJson('bench/results/chaos-latest.json');
const lookup = (object: any, dotted: string): unknown =>
  dotted.split('.').reduce<any>((value, key) => (value === undefined ? undefined : value[key]), object);
/** The figures README Section B's table must show, by their latest.json field. */
const BENCH_FIELDS = [
  'httpCeilingPerSec',
  'kafkaConsumeCeilingPerSec',
  'e2eDeliveriesPerSec',
  'e2eFanout5DeliveriesPerSec',
  'isolation.ratio',
  'noisyNeighbour.throughputRatio',
  'noisyNeighbour.p99Ratio',
  'peakRssMb',
];
/** Which row of that table judges each of latest.json's `targets`. */
const TARGET_ROWS: Record<string, (label: string) => boolean> = {
  e2eVsLowerCeiling: (label) => label.includes('`e2eDeliveriesPerSec`'),
  p99At1000: (label) => parseFigure(claim('latency p50 / p99 at # events/s').exec(label)?.[1] ?? '') === 1000,
  isolationRatio: (label) => label.includes('`isolation.ratio`'),
  noisyNeighbourThroughput: (label) => label.includes('`noisyNeighbour.throughputRatio`'),
  noisyNeighbourP99: (label) => label.includes('`noisyNeighbour.p99Ratio`'),
  peakRssMb: (label) => label.includes('`peakRssMb`'),
  orderedKeysRatio: (label) => label.includes('`orderedKeys.ratio`'),
};
/** The chaos table's columns and the chaos-latest.json perEndpoint fields they show. */
const CHAOS_COLUMNS: Record<string, string> = {
  Endpoint: 'endpoint',
  Ordering: 'ordering',
  Expected: 'expected',
  Delivered: 'delivered',
  Lost: 'lost',
  Duplicates: 'duplicates',
  'Injected 500s': 'injectedFailures',
  'Order violations': 'orderViolations',
};
const NUMBER_WORDS: Record<string, number> = {
  no: 0,
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
};
const plain = (text: string): string => text.replace(/\*\*|`/g, '');

/** A sentence as a pattern: `#` captures a figure ("20,000", "7.1"), `@` a count ("one", "4"). */
function claim(template: string): RegExp {
  const figure = String.raw`(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)`;
  return new RegExp(
    template
      .split(/([#@])/)
      .map((part) =>
        part === '#'
          ? figure
          : part === '@'
            ? String.raw`(\w+)`
            : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, String.raw`\s+`),
      )
      .join(''),
  );
}

const sectionB = (): LineRange => section(README, 'Section B');
const benchTable = (): Table =>
  tableIn(README, sectionB(), 'Figure', 'Section B "| Figure | Value | Target |"');

describe('README.md and docs/receiving-webhooks.md say only true things about the repository', () => {
  it('state the figures of bench/results/latest.json in Section B', () => {
    const table = benchTable();
    const problems: string[] = [];
    const fields = new Set<string>();
    const rates = new Set<number>();
    for (const row of table.rows) {
      const [label, value = ''] = row.cells;
      const where = at(README, row.line);
      const field = codeSpansOf(label)[0];
      const rate = claim('latency p50 / p99 at # events/s').exec(label)?.[1];
      const written = figuresIn(value);
      if (field !== undefined) {
        fields.add(field);
        const actual = lookup(BENCH, field);
        if (typeof actual !== 'number')
          problems.push(`${where}: \`${field}\` is not a number in latest.json`);
        else if (!written[0] || !statesFigure(written[0].written, actual)) {
          problems.push(`${where}: \`${field}\` is written "${value}"; latest.json has ${actual}`);
        }
      } else if (rate !== undefined) {
        rates.add(parseFigure(rate));
        const point = (BENCH.latency as any[]).find((candidate) => candidate.rate === parseFigure(rate));
        if (!point) problems.push(`${where}: latest.json has no latency measured at ${rate} events/s`);
        else if (
          !written[1] ||
          !statesFigure(written[0].written, point.p50Ms) ||
          !statesFigure(written[1].written, point.p99Ms)
        ) {
          problems.push(
            `${where}: latency at ${rate} events/s is written "${value}"; latest.json has ${point.p50Ms} / ${point.p99Ms} ms`,
          );
        }
      } else {
        problems.push(`${where}: the row "${label}" names no latest.json figure`);
      }
    }
    for (const field of BENCH_FIELDS.filter((candidate) => !fields.has(candidate))) {
      problems.push(
        `${at(README, table.line)}: no \`${field}\` row; latest.json has ${String(lookup(BENCH, field))}`,
      );
    }
    for (const point of (BENCH.latency as any[]).filter((candidate) => !rates.has(candidate.rate))) {
      problems.push(
        `${at(README, table.line)}: no latency row at ${point.rate} events/s; latest.json has ${point.p50Ms} / ${point.p99Ms} ms`,
      );
    }
    // The prose beside the table: the latency stage breakdown, and the isolation ratio quoted elsewhere.
    for (const paragraph of paragraphs(README, sectionB())) {
      const rate = claim('Where the time goes at # events/s').exec(paragraph.text)?.[1];
      if (rate === undefined) continue;
      const detail = (BENCH.setup?.latencyDetail as any[] | undefined)?.find(
        (d) => d.rate === parseFigure(rate),
      );
      const stages: string[] = Object.values(detail?.stagesP50P99Ms ?? {});
      if (!stages.length)
        problems.push(
          `${at(README, paragraph.line)}: latest.json has no stage breakdown at ${rate} events/s`,
        );
      let from = 0;
      for (const stage of stages) {
        from = paragraph.text.indexOf(`${stage} ms`, from);
        if (from === -1) {
          problems.push(
            `${at(README, paragraph.line)}: the stage breakdown should read, in order, ${stages.map((s) => `${s} ms`).join(', ')} (latest.json)`,
          );
          break;
        }
      }
    }
    README.lines.forEach((text, index) => {
      const quoted = claim('isolation ratio measured #').exec(text)?.[1];
      if (quoted !== undefined && !statesFigure(quoted, BENCH.isolation.ratio)) {
        problems.push(
          `${at(README, index + 1)}: "isolation ratio measured ${quoted}"; latest.json has ${BENCH.isolation.ratio}`,
        );
      }
    });
    expect(problems).toEqual([]);
  });

  it('judge each benchmark target met or missed as latest.json does', () => {
    const table = benchTable();
    const problems: string[] = [];
    const targets = BENCH.targets as Record<string, { value: number; met: boolean }>;
    for (const [name, target] of Object.entries(targets)) {
      const row = TARGET_ROWS[name] && table.rows.find((candidate) => TARGET_ROWS[name](candidate.cells[0]));
      if (!row) {
        problems.push(
          `${at(README, table.line)}: no row judges latest.json's target "${name}" (${target.met ? 'met' : 'missed'})`,
        );
        continue;
      }
      const cell = row.cells[2] ?? '';
      const says = /\bmissed\b/i.test(cell) ? false : /\bmet\b/i.test(cell) ? true : undefined;
      if (says !== target.met) {
        problems.push(
          `${at(README, row.line)}: target "${name}" is ${target.met ? 'met' : 'missed'} in latest.json; the row says "${cell}"`,
        );
      }
      if (name === 'e2eVsLowerCeiling') {
        const halfCeiling = Math.min(BENCH.httpCeilingPerSec, BENCH.kafkaConsumeCeilingPerSec) / 2;
        for (const [what, actual] of [
          ['half the lower ceiling', halfCeiling],
          ['the ratio', target.value],
        ] as const) {
          if (!figuresIn(cell).some((figure) => statesFigure(figure.written, actual))) {
            problems.push(
              `${at(README, row.line)}: the Target cell "${cell}" should state ${what}, ${actual}`,
            );
          }
        }
      }
    }
    const judged = (label: string): boolean =>
      Object.keys(targets).some((name) => TARGET_ROWS[name]?.(label));
    for (const row of table.rows.filter((candidate) => /\b(missed|met)\b/i.test(candidate.cells[2] ?? ''))) {
      if (!judged(row.cells[0]))
        problems.push(`${at(README, row.line)}: "${row.cells[2]}" judges a target latest.json lacks`);
    }
    const met = Object.keys(targets).filter((name) => targets[name].met);
    README.lines.forEach((text, index) => {
      if (/every benchmark target is missed/i.test(text) && met.length) {
        problems.push(
          `${at(README, index + 1)}: "Every benchmark target is missed", but latest.json meets ${met.join(', ')}`,
        );
      }
    });
    expect(problems).toEqual([]);
  });

  it('describe the machine latest.json and chaos-latest.json were measured on', () => {
    const machine = BENCH.machine;
    const problems: string[] = [];
    const seen = { cores: false, kafka: false };
    for (const paragraph of paragraphs(README, sectionB())) {
      const where = at(README, paragraph.line);
      for (const [, cpus, model] of paragraph.text.matchAll(/\((\d+) ([A-Z][\w ]*? )?cores\b/g)) {
        seen.cores = true;
        if (Number(cpus) !== machine.cpus)
          problems.push(`${where}: "${cpus} cores"; latest.json's machine has ${machine.cpus}`);
        if (model && model.trim() !== machine.cpuModel)
          problems.push(`${where}: "${model.trim()} cores"; latest.json says ${machine.cpuModel}`);
      }
      for (const [, memory] of paragraph.text.matchAll(new RegExp(claim('# GiB').source, 'g'))) {
        if (!statesFigure(memory, machine.memoryGb))
          problems.push(`${where}: "${memory} GiB"; latest.json's machine has ${machine.memoryGb}`);
      }
      for (const [, version] of paragraph.text.matchAll(/\bKafka (\d+\.\d+\.\d+)/g)) {
        seen.kafka = true;
        if (!String(machine.kafka).startsWith(`${version} `))
          problems.push(`${where}: "Kafka ${version}"; latest.json says "${machine.kafka}"`);
      }
      for (const [, version] of paragraph.text.matchAll(/\bNode (\d+\.\d+\.\d+)/g)) {
        if (`v${version}` !== machine.node)
          problems.push(`${where}: "Node ${version}"; latest.json says ${machine.node}`);
      }
      if (/chaos-latest\.json/.test(paragraph.text) && /same machine/.test(paragraph.text)) {
        for (const key of ['cpus', 'cpuModel', 'memoryGb', 'node', 'kafka'].filter(
          (k) => CHAOS.machine?.[k] !== machine[k],
        )) {
          problems.push(
            `${where}: "same machine", but chaos-latest.json's ${key} is ${CHAOS.machine?.[key]}, latest.json's ${machine[key]}`,
          );
        }
      }
    }
    if (!seen.cores)
      problems.push(
        `Section B does not say how many cores (latest.json: ${machine.cpus} ${machine.cpuModel})`,
      );
    if (!seen.kafka)
      problems.push(`Section B does not name the Kafka version (latest.json: ${machine.kafka})`);
    expect(problems).toEqual([]);
  });

  it('state the chaos ledger of bench/results/chaos-latest.json', () => {
    const problems: string[] = [];
    const table = tableIn(README, sectionB(), 'Endpoint', 'Section B "| Endpoint | Ordering | ... |" chaos');
    const endpoints = CHAOS.perEndpoint as any[];
    const unknown = table.header.filter((column) => CHAOS_COLUMNS[column] === undefined);
    if (unknown.length)
      problems.push(
        `${at(README, table.line)}: columns ${unknown.join(', ')} show no chaos-latest.json field`,
      );
    for (const row of table.rows) {
      const name = plain(row.cells[0]);
      const actual = endpoints.find((endpoint) => endpoint.endpoint === name);
      if (!actual) problems.push(`${at(README, row.line)}: chaos-latest.json has no endpoint ${name}`);
      table.header.forEach((column, i) => {
        const value = actual?.[CHAOS_COLUMNS[column]];
        const cell = plain(row.cells[i] ?? '');
        const ok =
          value === undefined
            ? /^[-—]?$/.test(cell)
            : typeof value === 'number'
              ? statesFigure(cell, value)
              : cell === String(value);
        if (actual && !ok)
          problems.push(
            `${at(README, row.line)}: ${name} ${column} is "${cell}"; chaos-latest.json has ${value ?? 'none'}`,
          );
      });
    }
    for (const { endpoint } of endpoints.filter(
      (e) => !table.rows.some((row) => plain(row.cells[0]) === e.endpoint),
    )) {
      problems.push(`${at(README, table.line)}: the chaos table has no row for ${endpoint}`);
    }

    const ledger = paragraphs(README, sectionB());
    const summary = ledger.find((paragraph) => plain(paragraph.text).startsWith('Published '));
    const setup = ledger.find(
      (paragraph) => /chaos-latest\.json/.test(paragraph.text) && /SIGKILL/.test(paragraph.text),
    );
    /** `template` must be in `paragraph` (unless optional) with the figures `actual` gives. */
    const expectClaim = (
      paragraph: Located | undefined,
      template: string,
      actual: number[],
      optional = false,
    ): void => {
      const match = paragraph && claim(template).exec(plain(paragraph.text));
      if (!match) {
        if (!optional)
          problems.push(
            `Section B (${paragraph ? at(README, paragraph.line) : 'no such paragraph'}): no "${template}" to check the chaos ledger against`,
          );
        return;
      }
      actual.forEach((value, i) => {
        const written = match[i + 1];
        const ok = /^\d/.test(written)
          ? statesFigure(written, value)
          : NUMBER_WORDS[written.toLowerCase()] === value;
        if (!ok)
          problems.push(
            `${at(README, paragraph.line)}: "${match[0]}": ${written} should be ${Number(value.toFixed(2))} (chaos-latest.json)`,
          );
      });
    };
    expectClaim(
      summary,
      'Published # (acknowledged), delivered # of #, lost #, duplicates # (# %), strict order violations #',
      [
        CHAOS.published,
        CHAOS.delivered,
        CHAOS.expectedDeliveries,
        CHAOS.lost,
        CHAOS.duplicates,
        (100 * CHAOS.duplicates) / CHAOS.delivered,
        CHAOS.strictOrderViolations,
      ],
    );
    expectClaim(summary, 'drained # s after the last fault', [CHAOS.drainSeconds]);
    expectClaim(
      summary,
      '@ unplanned exit',
      [CHAOS.unplannedServiceExits],
      CHAOS.unplannedServiceExits === 0,
    );
    const flaky = endpoints.filter(
      (e) => e.ordering !== 'strict' && e.injectedFirstAttemptFailRate > 0,
    ).length;
    const strict = endpoints.filter((e) => e.ordering === 'strict').length;
    const brokerRestarts = (CHAOS.faults as any[]).filter((fault) => /broker restart/i.test(fault.fault));
    expectClaim(setup, '# events at #/s to # endpoints', [
      CHAOS.setup.events,
      CHAOS.setup.rate,
      endpoints.length,
    ]);
    expectClaim(setup, '(# flaky failing about # % of first attempts, # strict)', [
      flaky,
      100 * CHAOS.setup.flakyFailRate,
      strict,
    ]);
    expectClaim(setup, '@ SIGKILL', [CHAOS.serviceKills]);
    expectClaim(setup, '@ broker restart', [brokerRestarts.length]);
    expectClaim(setup, 'broker restart (# s)', [brokerRestarts[0]?.tookS], brokerRestarts.length !== 1);
    expectClaim(setup, 'PostgreSQL stopped for # s', [CHAOS.setup.pgPauseS]);
    expect(problems).toEqual([]);
  });
});

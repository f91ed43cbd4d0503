/**
 * "Every command and path in the README and docs works as written from a clean clone": each claim
 * README.md and docs/receiving-webhooks.md make about this repository (paths, npm scripts, script
 * arguments, environment variables, REST routes, benchmark figures) checked against the repository
 * itself. Reads files only: no Kafka, PostgreSQL or network. Each test collects every problem it
 * finds and fails listing them, each with the Markdown line it is on.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config/config';
import {
  at,
  codeSpans,
  codeSpansOf,
  fencedBlocks,
  figuresIn,
  paragraphs,
  parseFigure,
  readMarkdown,
  section,
  statesFigure,
  tables,
  wholeDocument,
  type LineRange,
  type Located,
  type MarkdownDoc,
  type Table,
} from './markdown';
import {
  GENERATED_ROOTS,
  NPM_SCRIPTS,
  REQUIRED_ENV,
  ROOT,
  SOURCE_FILES,
  TOP_LEVEL,
  controllerRoutes,
  isDirectory,
  loaderVariables,
  normaliseRoute,
  problemWithPath,
  read,
  readJson,
  scriptArguments,
} from './repo-facts';

const README = readMarkdown(ROOT, 'README.md');
const CLIENT_GUIDE = readMarkdown(ROOT, 'docs/receiving-webhooks.md');
const DOCS = [README, CLIENT_GUIDE];

/** Code spans and fenced lines (shell comments dropped): where the docs write commands and paths. */
function codeTexts(doc: MarkdownDoc): Located[] {
  const fenced = fencedBlocks(doc).flatMap((block) =>
    block.lines.map(({ line, text }) => ({ line, text: text.replace(/(^|\s)#.*$/, '') })),
  );
  return [...codeSpans(doc), ...fenced];
}

function tableIn(doc: MarkdownDoc, range: LineRange, firstColumn: string | RegExp, what: string): Table {
  const table = tables(doc, range).find((candidate) =>
    typeof firstColumn === 'string'
      ? candidate.header[0] === firstColumn
      : firstColumn.test(candidate.header[0]),
  );
  if (!table) throw new Error(`${doc.path} has no ${what} table`);
  return table;
}

// ---- paths and commands ---------------------------------------------------------------------------

const FILE_EXTENSION = /\.(ts|js|mjs|cjs|json|sh|md|ya?ml|svg|xml|properties|sql|html|css|txt)$/;

/**
 * The repository path a token names, or null. A path starts with a top-level entry of the repo
 * (src/, scripts/, .ci/...) or a generated one (dist/, .infra/), or ends in a file extension;
 * so URLs, routes (/v1/...), topics (hookstream.dlq), env vars and CIDRs are not paths.
 */
function repoPathIn(token: string): string | null {
  const path = token.replace(/^["'([]+/, '').replace(/["'),.:;\]]+$/, '');
  if (!/^[\w.*-]+(\/[\w.*-]+)*\/?$/.test(path) || /^\.+$/.test(path)) return null;
  if (!path.includes('/')) return FILE_EXTENSION.test(path) ? path : null;
  const first = path.split('/')[0];
  return TOP_LEVEL.has(first) || GENERATED_ROOTS.has(first) || FILE_EXTENSION.test(path) ? path : null;
}

const moduleTable = (): Table =>
  tableIn(README, wholeDocument(README), /Module \(`src\/`\)/, '"| Module (`src/`) |"');

interface NpmRun {
  doc: MarkdownDoc;
  line: number;
  name: string;
  written: string;
}

function npmRuns(): NpmRun[] {
  const found = new Map<string, NpmRun>();
  for (const doc of DOCS) {
    const texts = [...codeTexts(doc), ...doc.lines.map((text, index) => ({ line: index + 1, text }))];
    for (const { line, text } of texts) {
      for (const match of text.matchAll(
        /\bnpm\s+(?:run(?:-script)?\s+(?:--?[\w-]+\s+)*([\w:.-]+)|(start|test|stop|restart)\b)/g,
      )) {
        const name = match[1] ?? match[2];
        found.set(`${doc.path}:${line}:${name}`, { doc, line, name, written: match[0] });
      }
    }
  }
  return [...found.values()];
}

/** Problems with each `bash scripts/x.sh args...` in `text`; `context` starts each message. */
function problemsWithScriptCalls(text: string, context: string): string[] {
  const problems: string[] = [];
  for (const match of text.matchAll(
    /\b(?:bash|sh)\s+(?:\.\/)?(scripts\/[\w.-]+\.sh)((?:[ \t]+[\w:=.,/-]+)*)/g,
  )) {
    const [call, script, rest] = match;
    if (!existsSync(join(ROOT, script))) {
      problems.push(`${context}: \`${call.trim()}\`: ${script} does not exist`);
      continue;
    }
    const args = rest.trim().split(/\s+/).filter(Boolean);
    const accepted = scriptArguments(script);
    const choices = [...accepted.handled].join(', ') || 'no arguments';
    if (args.length === 0 && accepted.needsSubcommand) {
      problems.push(`${context}: \`${call.trim()}\`: ${script} needs a subcommand (${choices})`);
    }
    for (const arg of accepted.forwardsToJest
      ? []
      : args.filter((candidate) => !accepted.handled.has(candidate))) {
      problems.push(
        `${context}: \`${call.trim()}\`: ${script} does not handle "${arg}" (it handles: ${choices})`,
      );
    }
  }
  return problems;
}

// ---- configuration and routes ---------------------------------------------------------------------

const CONFIG_SOURCES = SOURCE_FILES.filter((file) => file.startsWith('src/config/'));
const configTable = (): Table =>
  tableIn(
    README,
    section(README, 'Configuration'),
    'Variable',
    '"### Configuration" "| Variable | Default |"',
  );
const restSection = (): LineRange => section(README, 'The REST API at a glance');
const restTable = (): Table =>
  tableIn(README, restSection(), 'Route', '"### The REST API at a glance" "| Route |"');

interface DocumentedRoute {
  doc: MarkdownDoc;
  line: number;
  method: string;
  path: string;
  written: string;
}

const METHODS = 'GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS';
const ROUTE_SPAN = new RegExp(`^((?:${METHODS})(?:/(?:${METHODS}))*)\\s+(/\\S*)`);

/** `GET /v1/x?limit` or `GET/PATCH/DELETE /v1/x/:id` in code spans: one route per method. */
function routesIn(doc: MarkdownDoc, spans: Located[]): DocumentedRoute[] {
  return spans.flatMap(({ line, text }) => {
    const match = ROUTE_SPAN.exec(text);
    if (!match) return [];
    return match[1]
      .split('/')
      .map((method) => ({ doc, line, method, path: normaliseRoute(match[2]), written: text }));
  });
}

const tableRoutes = (table: Table): DocumentedRoute[] =>
  routesIn(
    README,
    table.rows.flatMap((row) => codeSpansOf(row.cells[0]).map((text) => ({ line: row.line, text }))),
  );

// ---- Section B ------------------------------------------------------------------------------------

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
  'peakRssMb',
];
/** Which row of that table judges each of latest.json's `targets`. */
const TARGET_ROWS: Record<string, (label: string) => boolean> = {
  e2eVsLowerCeiling: (label) => label.includes('`e2eDeliveriesPerSec`'),
  p99At1000: (label) => parseFigure(claim('latency p50 / p99 at # events/s').exec(label)?.[1] ?? '') === 1000,
  isolationRatio: (label) => label.includes('`isolation.ratio`'),
  peakRssMb: (label) => label.includes('`peakRssMb`'),
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
  it('name only repository paths that exist in a clean clone, or that a script generates', () => {
    const problems: string[] = [];
    const moduleRows = new Set(moduleTable().rows.map((row) => row.line)); // relative to src/: next test
    for (const doc of DOCS) {
      const written = codeTexts(doc)
        .filter(({ line }) => doc !== README || !moduleRows.has(line))
        .flatMap(({ line, text }) => text.split(/\s+/).map((token) => ({ line, path: repoPathIn(token) })));
      const links = doc.lines.flatMap((text, index) =>
        [...text.matchAll(/\]\(([^)\s#]+)(?:#[^)\s]*)?\)/g)]
          .filter((match) => !/^[a-z]+:/i.test(match[1]))
          .map((match) => ({ line: index + 1, path: posix.join(posix.dirname(doc.path), match[1]) })),
      );
      for (const { line, path } of [...written, ...links]) {
        const problem = path === null ? null : problemWithPath(path);
        if (problem) problems.push(`${at(doc, line)}: \`${path}\` ${problem}`);
      }
      for (const { line, text } of codeTexts(doc).filter((code) => /\bdocker compose\b/.test(code.text))) {
        if (!TOP_LEVEL.has('docker-compose.yml') && !TOP_LEVEL.has('compose.yaml')) {
          problems.push(`${at(doc, line)}: \`${text}\` needs a docker-compose.yml, and there is none`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('list in the module table exactly the Nest modules under src/', () => {
    const table = moduleTable();
    const problems: string[] = [];
    const listed = new Set<string>();
    for (const row of table.rows) {
      const modules = codeSpansOf(row.cells[0]).map((name) => name.replace(/\/$/, ''));
      modules.forEach((name) => listed.add(name));
      for (const name of modules.filter((candidate) => !isDirectory(`src/${candidate}`))) {
        problems.push(`${at(README, row.line)}: \`${name}/\` is not a directory under src/`);
      }
      // `ssrf/` in the endpoints row means src/endpoints/ssrf/.
      for (const sub of codeSpansOf(row.cells[1] ?? '').filter((span) => /^[\w-]+\/$/.test(span))) {
        if (!isDirectory(`src/${modules[0]}/${sub}`)) {
          problems.push(`${at(README, row.line)}: \`${sub}\` is not a directory under src/${modules[0]}/`);
        }
      }
    }
    const modules = readdirSync(join(ROOT, 'src')).filter((dir) =>
      existsSync(join(ROOT, 'src', dir, `${dir}.module.ts`)),
    );
    for (const name of modules.filter((candidate) => !listed.has(candidate))) {
      problems.push(
        `${at(README, table.line)}: the module table lacks \`${name}/\` (src/${name}/${name}.module.ts)`,
      );
    }
    expect(problems).toEqual([]);
  });

  it('run only npm scripts that package.json defines', () => {
    const problems = npmRuns()
      .filter(({ name }) => NPM_SCRIPTS[name] === undefined)
      .map(
        ({ doc, line, name, written }) =>
          `${at(doc, line)}: \`${written}\`: package.json has no script "${name}"`,
      );
    expect(problems).toEqual([]);
  });

  it('run scripts/*.sh only with the subcommands and flags each script handles', () => {
    const problems = DOCS.flatMap((doc) =>
      codeTexts(doc).flatMap(({ line, text }) => problemsWithScriptCalls(text, at(doc, line))),
    );
    // `npm run infra:up` is `bash scripts/infra.sh up`: check what the named npm scripts run, too.
    for (const { doc, line, name, written } of npmRuns()) {
      for (const command of [`pre${name}`, name, `post${name}`].map((script) => NPM_SCRIPTS[script])) {
        if (command) {
          problems.push(
            ...problemsWithScriptCalls(command, `${at(doc, line)}: \`${written}\` runs \`${command}\``),
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('name only environment variables the config loader reads, and list every one it reads', () => {
    const loader = loaderVariables();
    const table = configTable();
    const listed = new Map(table.rows.map((row) => [codeSpansOf(row.cells[0])[0] ?? row.cells[0], row.line]));
    const named = new Map(listed);
    README.lines.forEach((text, index) => {
      for (const [name] of text.matchAll(/\bHOOKSTREAM_[A-Z0-9_]+/g))
        if (!named.has(name)) named.set(name, index + 1);
    });
    const problems: string[] = [];
    for (const [name, line] of [...named].filter(([candidate]) => !loader.has(candidate))) {
      const readers = SOURCE_FILES.filter((file) => new RegExp(`\\b${name}\\b`).test(read(file)));
      const elsewhere = readers.length
        ? `; ${readers.join(', ')} reads it, unvalidated`
        : '; nothing in src/ reads it';
      problems.push(
        `${at(README, line)}: \`${name}\` is not read by the config loader (src/config/)${elsewhere}`,
      );
    }
    for (const name of [...loader].filter((candidate) => !listed.has(candidate))) {
      problems.push(
        `${at(README, table.line)}: the Configuration table lacks \`${name}\`, which src/config/ reads`,
      );
    }
    expect(problems).toEqual([]);
  });

  it("document each variable's default as the one the config loader applies", () => {
    const loader = loaderVariables();
    const defaults = loadConfig(REQUIRED_ENV);
    const refuses = (env: Record<string, string | undefined>, name: string): boolean => {
      try {
        loadConfig(env);
        return false;
      } catch (error) {
        return error instanceof ConfigError && error.problems.some((problem) => problem.startsWith(name));
      }
    };
    const problems: string[] = [];
    for (const row of configTable().rows) {
      const name = codeSpansOf(row.cells[0])[0];
      const cell = row.cells[1] ?? '';
      if (!name || !loader.has(name)) continue; // the test above reports it
      const where = `${at(README, row.line)}: \`${name}\``;
      const required = /^required(?:\s*\((\d+)\+ chars\))?/i.exec(cell);
      if (required) {
        const cases: Array<[string, string | undefined, boolean]> = [['unset', undefined, true]];
        if (required[1]) {
          const minimum = Number(required[1]);
          cases.push([`${minimum - 1} characters long`, 'x'.repeat(minimum - 1), true]);
          cases.push([`${minimum} characters long`, 'x'.repeat(minimum), false]);
        }
        for (const [what, value, refused] of cases) {
          if (refuses({ ...REQUIRED_ENV, [name]: value }, name) === refused) continue;
          problems.push(
            `${where} is documented "${cell}", yet the loader ${refused ? 'accepts' : 'refuses'} it ${what}`,
          );
        }
        continue;
      }
      if (/^empty\b/i.test(cell)) {
        // The loader treats an empty variable as unset, so only its source can show an empty default.
        const empty = new RegExp(`\\bread\\(\\s*'${name}',\\s*''|\\benv\\.${name}\\s*\\?\\?\\s*''`);
        if (!CONFIG_SOURCES.some((file) => empty.test(read(file)))) {
          problems.push(`${where} is documented "empty", but src/config/ gives it a default`);
        }
        continue;
      }
      const value = codeSpansOf(cell)[0];
      if (value === undefined) {
        problems.push(`${where}: the Default cell "${cell}" is neither \`a value\`, "empty" nor "required"`);
        continue;
      }
      try {
        if (!isDeepStrictEqual(loadConfig({ ...REQUIRED_ENV, [name]: value }), defaults)) {
          problems.push(
            `${where}: set to its documented default "${value}" it configures other than when unset`,
          );
        }
      } catch (error) {
        const reason = error instanceof ConfigError ? error.problems.join('; ') : (error as Error).message;
        problems.push(`${where}: its documented default "${value}" is refused: ${reason}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('list only REST routes that a controller serves', () => {
    const served = new Set(controllerRoutes().map((route) => `${route.method} ${route.path}`));
    const table = restTable();
    const tableLines = new Set([table.line, ...table.rows.map((row) => row.line)]);
    // Bare paths in the section's prose (`/docs`, `/docs-json`) are GET routes too.
    const bare = codeSpans(README, restSection())
      .filter(({ line, text }) => !tableLines.has(line) && /^\/[\w/:.-]*$/.test(text))
      .map(({ line, text }) => ({
        doc: README,
        line,
        method: 'GET',
        path: normaliseRoute(text),
        written: text,
      }));
    const problems = [...DOCS.flatMap((doc) => routesIn(doc, codeSpans(doc))), ...bare]
      .filter(({ method, path }) => !served.has(`${method} ${path}`))
      .map(
        ({ doc, line, method, path, written }) =>
          `${at(doc, line)}: \`${written}\`: no controller serves ${method} ${path}`,
      );
    expect(problems).toEqual([]);
  });

  it('list in the REST table every route the API serves (all but those kept out of OpenAPI)', () => {
    const table = restTable();
    const listed = new Set(tableRoutes(table).map((route) => `${route.method} ${route.path}`));
    const problems = controllerRoutes()
      .filter((route) => !route.excluded && !listed.has(`${route.method} ${route.path}`))
      .map(
        (route) =>
          `${at(README, table.line)}: the REST table lacks ${route.method} ${route.path} (${route.auth}; ${route.source})`,
      );
    expect(problems).toEqual([]);
  });

  it("give each route in the REST table the auth its controller's guard requires", () => {
    const served = new Map(controllerRoutes().map((route) => [`${route.method} ${route.path}`, route]));
    const table = restTable();
    const problems: string[] = [];
    for (const route of tableRoutes(table)) {
      const auth = (table.rows.find((row) => row.line === route.line)?.cells[1] ?? '').trim().toLowerCase();
      const controller = served.get(`${route.method} ${route.path}`);
      if (controller && controller.auth !== auth) {
        const needs = controller.auth === 'none' ? 'no auth (none)' : controller.auth;
        problems.push(
          `${at(README, route.line)}: ${route.method} ${route.path} is listed as "${auth}"; ${controller.source} requires ${needs}`,
        );
      }
    }
    expect(problems).toEqual([]);
  });

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

  it('open with the two commands, the second being what CI runs', () => {
    const problems: string[] = [];
    const first = fencedBlocks(README)[0];
    const commands = first.lines.map(({ text }) => text.replace(/(^|\s)#.*$/, '').trim()).filter(Boolean);
    if (!isDeepStrictEqual(commands, ['bash scripts/demo.sh', 'bash scripts/test.sh'])) {
      problems.push(
        `${at(README, first.line)}: the first code block should hold exactly \`bash scripts/demo.sh\` and ` +
          `\`bash scripts/test.sh\` (comments aside); it holds ${JSON.stringify(commands)}`,
      );
    }
    const ci = read('.ci/run')
      .split('\n')
      .map((line) => line.replace(/(^|\s)#.*$/, '').trim());
    if (!ci.some((line) => /^(exec\s+)?bash scripts\/test\.sh$/.test(line))) {
      problems.push(`.ci/run does not run \`bash scripts/test.sh\`, the README's second command, as written`);
    }
    expect(problems).toEqual([]);
  });
});

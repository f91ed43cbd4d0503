/** README.md and docs/receiving-webhooks.md: the environment variables and REST routes they name. */
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config/config';
import {
  at,
  codeSpans,
  codeSpansOf,
  section,
  type LineRange,
  type Located,
  type MarkdownDoc,
  type Table,
} from './markdown';
import {
  REQUIRED_ENV,
  SOURCE_FILES,
  controllerRoutes,
  loaderVariables,
  normaliseRoute,
  read,
} from './repo-facts';
import { DOCS, README, tableIn } from './documents';

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

describe('README.md and docs/receiving-webhooks.md say only true things about the repository', () => {
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
      if (/^the host name\b/i.test(cell)) {
        const fromHost = new RegExp(`\\bread\\(\\s*'${name}',\\s*hostname\\(\\)`);
        if (!CONFIG_SOURCES.some((file) => fromHost.test(read(file)))) {
          problems.push(
            `${where} is documented "the host name", but src/config/ does not default it to hostname()`,
          );
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
});

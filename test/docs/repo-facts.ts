/**
 * What the repository says about itself, read from its files for test/docs/readme.int-spec.ts:
 * which paths a clean clone has, which arguments a shell script handles, which environment
 * variables the config loader reads, which REST routes the controllers serve. Textual reading of
 * scripts and decorators: whatever it cannot model it refuses loudly rather than misread.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/config';

export const ROOT = resolve(__dirname, '..', '..');

export const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
export const readJson = (path: string): any => JSON.parse(read(path));
export const isDirectory = (path: string): boolean =>
  existsSync(join(ROOT, path)) && statSync(join(ROOT, path)).isDirectory();
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function globToRegExp(glob: string): string {
  const parts: Record<string, string> = { '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*', '?': '[^/]' };
  return glob
    .split(/(\*\*\/?|\*|\?)/)
    .map((part) => parts[part] ?? escapeRegExp(part))
    .join('');
}

// ---- a clean clone ---------------------------------------------------------------------------------

// .gitignore says what a clean clone lacks: those paths are generated, never committed.
const GITIGNORE = read('.gitignore')
  .split('\n')
  .map((rule) => rule.trim())
  .filter((rule) => rule !== '' && !rule.startsWith('#') && !rule.startsWith('!'));
const IGNORED = GITIGNORE.map((rule) => {
  const body = rule.replace(/^\/|\/$/g, '');
  return new RegExp(`${body.includes('/') ? '^' : '(?:^|/)'}${globToRegExp(body)}(?:/|$)`);
});
/** Top-level directories that only builds and scripts create: dist/, .infra/, test-artifacts/... */
export const GENERATED_ROOTS = new Set(
  GITIGNORE.filter((rule) => /^\/?[\w.-]+\/$/.test(rule)).map((rule) => rule.replace(/\//g, '')),
);
const isIgnored = (path: string): boolean => IGNORED.some((rule) => rule.test(path.replace(/\/$/, '')));

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.name === '.git' || isIgnored(path)) return [];
    return entry.isDirectory() ? walk(path) : [path];
  });
}
/** Files a clean clone has (everything not git-ignored), relative to the root, `/`-separated. */
export const REPO_FILES = walk('');
export const TOP_LEVEL = new Set(REPO_FILES.map((path) => path.split('/')[0]));
export const SOURCE_FILES = REPO_FILES.filter(
  (path) => path.startsWith('src/') && path.endsWith('.ts') && !path.endsWith('.spec.ts'),
);

/** Files that create generated paths: scripts, npm scripts, build and bench configuration. */
const PRODUCERS = REPO_FILES.filter(
  (path) =>
    /^(scripts|bench)\/.*\.(sh|ts|js)$/.test(path) ||
    /^(package\.json|nest-cli\.json|tsconfig[\w.]*\.json|jest\.config\.js|\.ci\/run)$/.test(path),
);

/** Why `path` (relative to the root; a glob, a file or a dir/) is not there in a clean clone. */
export function problemWithPath(path: string): string | null {
  if (path.includes('*')) {
    const pattern = new RegExp(`^${path.includes('/') ? '' : '(?:.*/)?'}${globToRegExp(path)}$`);
    return REPO_FILES.some((file) => pattern.test(file)) ? null : 'matches no committed file';
  }
  if (isIgnored(path)) {
    // Generated (dist/, .infra/, test-artifacts/, smoke results): absent from a clean clone by
    // design, so instead of existing it must be something a script or a build setting produces.
    const first = path.split('/')[0];
    const needle = GENERATED_ROOTS.has(first) ? first : basename(path);
    const mention = new RegExp(`(?<![\\w.-])${escapeRegExp(needle)}(?![\\w-])`);
    return PRODUCERS.some((producer) => mention.test(read(producer)))
      ? null
      : `is git-ignored (generated), but no script, npm script or build setting mentions "${needle}"`;
  }
  if (!existsSync(join(ROOT, path))) return 'does not exist in the repository';
  if (path.endsWith('/') && !isDirectory(path)) return 'is not a directory';
  return null;
}

// ---- scripts --------------------------------------------------------------------------------------

export const NPM_SCRIPTS = (readJson('package.json') as { scripts: Record<string, string> }).scripts;

export interface ScriptArguments {
  handled: Set<string>;
  /** The first argument selects a subcommand, and no subcommand is not one of them. */
  needsSubcommand: boolean;
  /** Passes "$@" on to jest, whose arguments this reading cannot judge. */
  forwardsToJest: boolean;
}

/** The subcommands and flags a bash script handles: its `case "$1"`, `[[ $1 == --x ]]`, and "$@". */
export function scriptArguments(script: string): ScriptArguments {
  const text = read(script)
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .map((line) => line.replace(/\s+#\s.*$/, ''))
    .join('\n');
  const result: ScriptArguments = { handled: new Set(), needsSubcommand: false, forwardsToJest: false };
  for (const match of text.matchAll(/\bcase\s+"?\$\{?(?:1|arg)\b[^\n]*?\bin\b([\s\S]*?)\besac\b/g)) {
    const labels = [...match[1].matchAll(/^\s*\(?\s*([^\s()]+(?:\s*\|\s*[^\s()]+)*)\s*\)/gm)].flatMap(
      (label) => label[1].split('|').map((word) => word.trim().replace(/^["']|["']$/g, '')),
    );
    labels.filter((label) => label !== '*' && label !== '').forEach((label) => result.handled.add(label));
    // An option loop (`while (($# > 0)); do case "$1" in`) takes no argument as well.
    const optionLoop = /while\s+(\(\(\s*\$#\s*>\s*0\s*\)\)|\[\[\s*\$#\s+-gt\s+0\s*\]\]);\s*do\s*$/m.test(
      text.slice(0, match.index).split('\n').slice(-2).join('\n'),
    );
    if (!labels.includes('') && !optionLoop) result.needsSubcommand = true;
  }
  for (const match of text.matchAll(/\$\{?(?:1|arg)\}?"?\s*==?\s*"?(--?[\w-]+)/g))
    result.handled.add(match[1]);
  for (const line of text.split('\n').filter((candidate) => candidate.includes('"$@"'))) {
    // `node dist/x.js "$@"`: the flags are whatever src/x.ts looks for in process.argv.
    const node = /\bnode\s+(\S+)\.js\b/.exec(line);
    const source = node && `${node[1].replace(/^dist\//, 'src/')}.ts`;
    if (source && existsSync(join(ROOT, source))) {
      for (const flag of read(source).matchAll(/['"](--?[\w-]+)['"]/g)) result.handled.add(flag[1]);
    }
    if (/\bjest\b/.test(line)) result.forwardsToJest = true;
  }
  return result;
}

// ---- configuration --------------------------------------------------------------------------------

/** The two variables loadConfig insists on, at their minimum lengths. */
export const REQUIRED_ENV = { HOOKSTREAM_ADMIN_TOKEN: 'a'.repeat(16), HOOKSTREAM_SECRET_KEY: 'k'.repeat(32) };

/** Every variable loadConfig reads: watched through a proxy, plus what src/config/ names literally. */
export function loaderVariables(): Set<string> {
  const names = new Set<string>();
  const env = new Proxy<Record<string, string | undefined>>(
    { ...REQUIRED_ENV },
    {
      get(target, key) {
        if (typeof key === 'string' && /^[A-Z][A-Z0-9_]*$/.test(key)) names.add(key);
        return typeof key === 'string' ? target[key] : undefined;
      },
    },
  );
  loadConfig(env);
  // A read behind a branch the defaults do not take escapes the proxy; the source still names it.
  for (const file of REPO_FILES.filter((path) => /^src\/config\/.*(?<!\.spec)\.ts$/.test(path))) {
    for (const match of read(file).matchAll(
      /\bread\(\s*'([A-Z][A-Z0-9_]*)'|\benv(?:\.([A-Z][A-Z0-9_]*)|\[\s*'([A-Z][A-Z0-9_]*)'\s*\])/g,
    )) {
      names.add(match[1] ?? match[2] ?? match[3]);
    }
  }
  return names;
}

// ---- REST routes ----------------------------------------------------------------------------------

export type Auth = 'admin' | 'tenant' | 'none';

export interface Route {
  method: string;
  /** Normalised: `/v1/endpoints/:param/secret`. */
  path: string;
  auth: Auth;
  source: string;
  /** Kept out of the OpenAPI document (@ApiExcludeController): the dashboard page, /metrics, /docs. */
  excluded: boolean;
}

export const normaliseRoute = (path: string): string =>
  `/${path
    .replace(/[?#].*$/, '')
    .split('/')
    .filter(Boolean)
    .map((segment) => (segment.startsWith(':') ? ':param' : segment))
    .join('/')}`;

const ROUTE_DECORATOR = /^\s*@(Get|Post|Put|Patch|Delete|Head|Options|All)\((.*)$/;
const STRING_ARGUMENT = /^\s*(?:'([^']*)'|"([^"]*)")?\s*\)/;

/** Routes read from the decorators (@Controller + @Get/@Post/...) of src/, and Swagger's two. */
export function controllerRoutes(): Route[] {
  return SOURCE_FILES.flatMap((file) => {
    const text = read(file);
    // The one global guard, ApiRoleGuard, hides the REST API on a replica without the api role
    // (src/common/roles.ts); it authenticates nobody, so the routes' auth stays as modelled.
    const modelled = text
      .replace(/\{\s*provide:\s*APP_GUARD,\s*useClass:\s*ApiRoleGuard\s*\}/, '')
      .replace(/import \{ APP_GUARD \} from '@nestjs\/core';/, '');
    const unsupported = /\b(setGlobalPrefix|enableVersioning|RouterModule|APP_GUARD|useGlobalGuards)\b/.exec(
      modelled,
    );
    if (unsupported)
      throw new Error(`${file} uses ${unsupported[1]}, which controllerRoutes() does not model`);
    return [...swaggerRoutes(file, text), ...decoratedRoutes(file, text.split('\n'))];
  });
}

function swaggerRoutes(file: string, text: string): Route[] {
  const setup = /SwaggerModule\.setup\(\s*'([^']*)'/.exec(text);
  if (!setup) return [];
  const json = /jsonDocumentUrl:\s*'([^']*)'/.exec(text)?.[1] ?? `${setup[1]}-json`;
  return [setup[1], json].map((path) => ({
    method: 'GET',
    path: normaliseRoute(path),
    auth: 'none' as const,
    source: file,
    excluded: true,
  }));
}

function decoratedRoutes(file: string, lines: string[]): Route[] {
  const starts = lines.flatMap((line, index) => (/^\s*@Controller\(/.test(line) ? [index] : []));
  // Class decorators stack directly above @Controller, below a blank line, a comment or a statement.
  const tops = starts.map((start) => {
    let top = start;
    while (top > 0 && lines[top - 1].trim() !== '' && !/^\s*(\*|\/)|;\s*$/.test(lines[top - 1])) top--;
    return top;
  });
  return starts.flatMap((start, k) => {
    const controller = /^\s*@Controller\((.*)$/.exec(lines[start])!;
    const prefix = STRING_ARGUMENT.exec(controller[1]);
    if (!prefix) throw new Error(`${file}:${start + 1}: cannot read this @Controller's path`);
    const header = lines.slice(tops[k], start).join('\n');
    const body = lines.slice(start + 1, tops[k + 1] ?? lines.length);
    if (body.some((line) => /@UseGuards\(/.test(line))) {
      throw new Error(`${file}: method-level @UseGuards, which controllerRoutes() does not model`);
    }
    const guards = /@UseGuards\(([^)]*)\)/.exec(header)?.[1] ?? '';
    const auth: Auth = /\bAdminGuard\b/.test(guards)
      ? 'admin'
      : /\bApiKeyGuard\b/.test(guards)
        ? 'tenant'
        : 'none';
    if (guards && auth === 'none') throw new Error(`${file}: unknown guard(s) ${guards}`);
    const excluded = /@ApiExcludeController\(/.test(header);
    const prefixPath = prefix[1] ?? prefix[2] ?? '';
    const base = /\bclass \w+ extends (\w+)/.exec(body.join('\n'))?.[1];
    // Routes a controller inherits (StaticPageController's) are served under its own path and guards.
    const inherited = base === undefined ? [] : routeDecorators(baseClassBody(base));
    return [...routeDecorators({ file, lines: body, first: start + 1 }), ...inherited].map(
      ({ method, sub, source }) => ({
        method,
        path: normaliseRoute(`${prefixPath}/${sub}`),
        auth,
        source,
        excluded,
      }),
    );
  });
}

interface ClassBody {
  file: string;
  lines: string[];
  /** The 0-based line of `lines[0]` in its file. */
  first: number;
}

/** The @Get/@Post/... decorators in a class body: method, path below the controller's, where. */
function routeDecorators({
  file,
  lines,
  first,
}: ClassBody): Array<{ method: string; sub: string; source: string }> {
  return lines.flatMap((line, offset) => {
    const decorator = ROUTE_DECORATOR.exec(line);
    if (!decorator) return [];
    const sub = STRING_ARGUMENT.exec(decorator[2]);
    const lineNumber = first + offset + 1;
    if (!sub) throw new Error(`${file}:${lineNumber}: cannot read this route decorator's path`);
    return [
      { method: decorator[1].toUpperCase(), sub: sub[1] ?? sub[2] ?? '', source: `${file}:${lineNumber}` },
    ];
  });
}

/** The body of the class a controller extends, from src/; unknown, the reading fails rather than miss routes. */
function baseClassBody(name: string): ClassBody {
  const declaration = new RegExp(`^export (abstract )?class ${name}\\b`);
  for (const file of SOURCE_FILES) {
    const lines = read(file).split('\n');
    const at = lines.findIndex((line) => declaration.test(line));
    if (at < 0) continue;
    const end = lines.findIndex((line, index) => index > at && line.startsWith('}'));
    return { file, lines: lines.slice(at + 1, end < 0 ? lines.length : end), first: at + 1 };
  }
  throw new Error(`controllerRoutes(): a controller extends ${name}, which is not a class of src/`);
}

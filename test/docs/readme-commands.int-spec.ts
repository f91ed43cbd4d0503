/** README.md and docs/receiving-webhooks.md: the paths, npm scripts and script calls they write. */
import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { at, codeSpansOf, fencedBlocks, wholeDocument, type MarkdownDoc, type Table } from './markdown';
import {
  GENERATED_ROOTS,
  NPM_SCRIPTS,
  ROOT,
  TOP_LEVEL,
  isDirectory,
  problemWithPath,
  read,
  scriptArguments,
} from './repo-facts';
import { DOCS, README, codeTexts, tableIn } from './documents';

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

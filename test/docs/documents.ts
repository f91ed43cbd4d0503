/**
 * "Every command and path in the README and docs works as written from a clean clone": the
 * readme-*.int-spec.ts files check each claim README.md, docs/receiving-webhooks.md and
 * docs/publishing-events.md and docs/migrating-from-polling.md make about
 * this repository against the repository itself. They read files only: no Kafka, PostgreSQL or
 * network. Each test collects every problem it finds and fails listing them, each with the
 * Markdown line it is on. This file holds the documents they read and how they find their parts.
 */
import {
  codeSpans,
  fencedBlocks,
  readMarkdown,
  tables,
  type LineRange,
  type Located,
  type MarkdownDoc,
  type Table,
} from './markdown';
import { ROOT } from './repo-facts';

export const README = readMarkdown(ROOT, 'README.md');
export const CLIENT_GUIDE = readMarkdown(ROOT, 'docs/receiving-webhooks.md');
export const PUBLISHING_GUIDE = readMarkdown(ROOT, 'docs/publishing-events.md');
export const MIGRATION_GUIDE = readMarkdown(ROOT, 'docs/migrating-from-polling.md');
export const DOCS = [README, CLIENT_GUIDE, PUBLISHING_GUIDE, MIGRATION_GUIDE];

/** Code spans and fenced lines (shell comments dropped): where the docs write commands and paths. */
export function codeTexts(doc: MarkdownDoc): Located[] {
  const fenced = fencedBlocks(doc).flatMap((block) =>
    block.lines.map(({ line, text }) => ({ line, text: text.replace(/(^|\s)#.*$/, '') })),
  );
  return [...codeSpans(doc), ...fenced];
}

export function tableIn(
  doc: MarkdownDoc,
  range: LineRange,
  firstColumn: string | RegExp,
  what: string,
): Table {
  const table = tables(doc, range).find((candidate) =>
    typeof firstColumn === 'string'
      ? candidate.header[0] === firstColumn
      : firstColumn.test(candidate.header[0]),
  );
  if (!table) throw new Error(`${doc.path} has no ${what} table`);
  return table;
}

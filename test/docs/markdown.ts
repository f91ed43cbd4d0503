/**
 * Just enough Markdown reading for test/docs/readme.int-spec.ts: fenced blocks, inline code spans,
 * sections and tables, each with the 1-based line it starts on so a failure can name it.
 * Pure functions over the text; no Markdown library (the docs use only these constructs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MarkdownDoc {
  /** Path relative to the repository root, as failure messages print it. */
  path: string;
  lines: string[];
}

export interface Located {
  line: number;
  text: string;
}

export interface FencedBlock {
  line: number;
  info: string;
  lines: Located[];
}

/** Lines [start, end) of a document, 1-based. */
export interface LineRange {
  start: number;
  end: number;
}

export interface TableRow {
  line: number;
  cells: string[];
}

export interface Table {
  line: number;
  header: string[];
  rows: TableRow[];
}

export function readMarkdown(root: string, path: string): MarkdownDoc {
  return { path, lines: readFileSync(join(root, path), 'utf8').split(/\r?\n/) };
}

export function at(doc: MarkdownDoc, line: number): string {
  return `${doc.path}:${line}`;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;

/** Marks each line as inside a fenced block (fence lines included) or not. */
function fencedLineMask(doc: MarkdownDoc): boolean[] {
  const mask: boolean[] = [];
  let closing: string | null = null;
  for (const text of doc.lines) {
    const fence = FENCE.exec(text);
    if (closing === null) {
      mask.push(fence !== null);
      if (fence) closing = fence[1];
    } else {
      mask.push(true);
      if (fence && fence[1][0] === closing[0] && fence[1].length >= closing.length && !fence[2])
        closing = null;
    }
  }
  return mask;
}

export function fencedBlocks(doc: MarkdownDoc): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  let current: FencedBlock | null = null;
  let closing = '';
  doc.lines.forEach((text, index) => {
    const fence = FENCE.exec(text);
    if (current === null) {
      if (fence) {
        current = { line: index + 1, info: fence[2], lines: [] };
        closing = fence[1];
      }
    } else if (fence && fence[1][0] === closing[0] && fence[1].length >= closing.length && !fence[2]) {
      blocks.push(current);
      current = null;
    } else {
      current.lines.push({ line: index + 1, text });
    }
  });
  return blocks;
}

/** Inline code spans outside fenced blocks, within `range` if given. Spans may wrap across lines. */
export function codeSpans(doc: MarkdownDoc, range: LineRange = wholeDocument(doc)): Located[] {
  const fenced = fencedLineMask(doc);
  const spans: Located[] = [];
  // A span cannot cross a paragraph break or a table row, so scan one paragraph or row at a time.
  let block: Located[] = [];
  const flush = (): void => {
    if (block.length) spans.push(...spansOfBlock(block));
    block = [];
  };
  for (let line = range.start; line < range.end; line++) {
    const text = doc.lines[line - 1];
    if (fenced[line - 1] || text.trim() === '') {
      flush();
    } else if (isTableLine(text)) {
      flush();
      spans.push(...spansOfBlock([{ line, text }]));
    } else {
      block.push({ line, text });
    }
  }
  flush();
  return spans;
}

/** CommonMark's rule: a run of n backticks opens a span that the next run of exactly n closes. */
function spansOfBlock(block: Located[]): Located[] {
  const text = block.map((located) => located.text).join('\n');
  const lineOf = (offset: number): number =>
    block[0].line + (text.slice(0, offset).match(/\n/g) ?? []).length;
  const runs = [...text.matchAll(/`+/g)].map((match) => ({ at: match.index, length: match[0].length }));
  const spans: Located[] = [];
  for (let i = 0; i < runs.length; i++) {
    const close = runs.findIndex((run, j) => j > i && run.length === runs[i].length);
    if (close === -1) continue;
    const content = text.slice(runs[i].at + runs[i].length, runs[close].at).replace(/\n/g, ' ');
    spans.push({ line: lineOf(runs[i].at), text: content.trim() });
    i = close;
  }
  return spans;
}

/** Code spans of a single table cell (or any one-line string). */
export function codeSpansOf(text: string): string[] {
  return spansOfBlock([{ line: 0, text }]).map((span) => span.text);
}

export function wholeDocument(doc: MarkdownDoc): LineRange {
  return { start: 1, end: doc.lines.length + 1 };
}

/**
 * The lines under the first heading whose text starts with `title`, up to the next heading of the
 * same or a higher level. Throws when there is no such heading, so a renamed section fails loudly.
 */
export function section(doc: MarkdownDoc, title: string): LineRange {
  const fenced = fencedLineMask(doc);
  const headings = doc.lines
    .map((text, index) => ({ line: index + 1, match: /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(text) }))
    .filter((heading) => heading.match !== null && !fenced[heading.line - 1])
    .map((heading) => ({ line: heading.line, level: heading.match![1].length, text: heading.match![2] }));
  const start = headings.find((heading) => heading.text.startsWith(title));
  if (!start) throw new Error(`${doc.path} has no heading starting with "${title}"`);
  const next = headings.find((heading) => heading.line > start.line && heading.level <= start.level);
  return { start: start.line, end: next ? next.line : doc.lines.length + 1 };
}

function isTableLine(text: string): boolean {
  return /^\s*\|/.test(text);
}

/** Pipe tables in `range`: a header row, a `| --- |` separator, then rows. */
export function tables(doc: MarkdownDoc, range: LineRange = wholeDocument(doc)): Table[] {
  const found: Table[] = [];
  for (let line = range.start; line < range.end - 1; line++) {
    const header = doc.lines[line - 1];
    const separator = doc.lines[line];
    if (!isTableLine(header) || !/^\s*\|(\s*:?-+:?\s*\|)+\s*$/.test(separator)) continue;
    const table: Table = { line, header: cellsOf(header), rows: [] };
    let row = line + 2;
    while (row < range.end && isTableLine(doc.lines[row - 1])) {
      table.rows.push({ line: row, cells: cellsOf(doc.lines[row - 1]) });
      row++;
    }
    found.push(table);
    line = row - 1;
  }
  return found;
}

/** Splits a table row on pipes that are neither escaped nor inside a code span. */
function cellsOf(row: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let openTicks = 0;
  for (let i = 0; i < row.length; i++) {
    const char = row[i];
    if (char === '`') {
      let run = 1;
      while (row[i + run] === '`') run++;
      if (openTicks === 0) openTicks = row.indexOf('`'.repeat(run), i + run) === -1 ? 0 : run;
      else if (run === openTicks) openTicks = 0;
      cell += row.slice(i, i + run);
      i += run - 1;
    } else if (char === '\\' && row[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (char === '|' && openTicks === 0) {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += char;
    }
  }
  cells.push(cell.trim());
  // A row written `| a | b |` has an empty cell before the first pipe and after the last.
  return cells.slice(row.trimStart().startsWith('|') ? 1 : 0, row.trimEnd().endsWith('|') ? -1 : undefined);
}

/** The paragraphs (runs of non-blank lines outside fences and tables) in `range`, joined by spaces. */
export function paragraphs(doc: MarkdownDoc, range: LineRange = wholeDocument(doc)): Located[] {
  const fenced = fencedLineMask(doc);
  const found: Located[] = [];
  let current: Located | null = null;
  for (let line = range.start; line < range.end; line++) {
    const text = doc.lines[line - 1];
    if (fenced[line - 1] || text.trim() === '' || isTableLine(text) || /^#{1,6}\s/.test(text)) {
      current = null;
    } else if (current === null) {
      current = { line, text: text.trim() };
      found.push(current);
    } else {
      current.text += ` ${text.trim()}`;
    }
  }
  return found;
}

/** "28,462", "0.316", "3 430" → the number; NaN when `text` is not one number. */
export function parseFigure(text: string): number {
  const compact = text.trim().replace(/[,\u00a0\u202f ](?=\d{3}\b)/g, '');
  return /^-?\d+(\.\d+)?$/.test(compact) ? Number(compact) : NaN;
}

/** Every number written in `text`, thousands separators allowed ("1,000 events/s" → 1000). */
export function figuresIn(text: string): Array<{ written: string; value: number }> {
  return [
    ...text.matchAll(/(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.,])\d+(?:\.\d+)?(?![\w])/g),
  ].map((match) => ({ written: match[0], value: parseFigure(match[0]) }));
}

/**
 * Whether `written` ("28,462", "0.16", "23") states `actual` to the precision it is written in.
 * Half a unit of the last written digit either way; the JSON values are themselves rounded to one
 * decimal at most, so half of their last unit is allowed too (23.5 GiB may be written 23 or 24).
 */
export function statesFigure(written: string, actual: number): boolean {
  const value = parseFigure(written);
  if (Number.isNaN(value)) return false;
  const halfUnit = (figure: string): number => 0.5 * 10 ** -(figure.split('.')[1]?.length ?? 0);
  const actualText = String(actual);
  const actualHalfUnit = actualText.includes('.') ? halfUnit(actualText) : 0;
  return Math.abs(value - actual) <= halfUnit(written.replace(/,/g, '')) + actualHalfUnit + 1e-9;
}

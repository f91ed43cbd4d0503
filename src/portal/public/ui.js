/** Builds an element; children are nodes or text (never parsed as HTML: tenant data stays text). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the view, moves focus to its heading (keyboard and screen-reader users land on it). */
export function show(...children) {
  const view = document.getElementById('view');
  view.replaceChildren();
  append(view, children);
  view.hidden = false;
  const heading = view.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
    document.title = `${heading.textContent} · Hookstream portal`;
  }
}

export function announce(text) {
  document.getElementById('status').textContent = text;
}

export function table(caption, headings, rows, attrs = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headings.map((heading) => h('th', { scope: 'col' }, heading)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '-');
export const percent = (rate) => (rate === null || rate === undefined ? '-' : `${(rate * 100).toFixed(1)} %`);
export const ms = (value) => (value === null || value === undefined ? '-' : `${value} ms`);
export const excerpt = (text, length = 120) =>
  text === null || text === undefined ? '' : text.length > length ? `${text.slice(0, length)}…` : text;

export function badge(text, kind) {
  return h('span', { class: `badge ${kind}` }, text);
}

export function outcomeBadge(outcome, statusCode) {
  const label = statusCode === null || statusCode === undefined ? outcome : `${outcome} ${statusCode}`;
  return badge(label, outcome === 'delivered' ? 'ok' : 'bad');
}

export function circuitBadge(state) {
  return badge(
    `circuit ${state.replace('_', '-')}`,
    state === 'closed' ? 'ok' : state === 'open' ? 'bad' : 'warn',
  );
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  return element;
}

/**
 * A small inline chart of the last hour: a bar per bucket (height: attempts; green delivered, red
 * failed) and the p95 latency as a line. Its text alternative says the same in words.
 */
export function sparkline(buckets, label) {
  const width = 144;
  const height = 36;
  const step = width / buckets.length;
  const most = Math.max(1, ...buckets.map((bucket) => bucket.attempts));
  const slowest = Math.max(1, ...buckets.map((bucket) => bucket.p95LatencyMs ?? 0));
  const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'spark' });
  const title = svg('title', {});
  title.textContent = label;
  chart.append(title);
  chart.append(svg('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, stroke: '#6e7781' }));
  const points = [];
  buckets.forEach((bucket, index) => {
    const x = index * step + 1;
    const deliveredHeight = (bucket.delivered / most) * (height - 4);
    const failedHeight = ((bucket.attempts - bucket.delivered) / most) * (height - 4);
    if (deliveredHeight > 0)
      chart.append(
        svg('rect', {
          x,
          y: height - deliveredHeight,
          width: step - 2,
          height: deliveredHeight,
          fill: '#2da44e',
        }),
      );
    if (failedHeight > 0)
      chart.append(
        svg('rect', {
          x,
          y: height - deliveredHeight - failedHeight,
          width: step - 2,
          height: failedHeight,
          fill: '#cf222e',
        }),
      );
    if (bucket.p95LatencyMs !== null)
      points.push(`${x + step / 2},${height - 2 - (bucket.p95LatencyMs / slowest) * (height - 6)}`);
  });
  if (points.length > 1)
    chart.append(
      svg('polyline', { points: points.join(' '), fill: 'none', stroke: '#0a58ca', 'stroke-width': 1.5 }),
    );
  return chart;
}

/** A button that runs `action`, disabled meanwhile, and reports a failure next to itself. */
export function actionButton(text, action, attrs = {}) {
  const message = h('span', { class: 'error', role: 'alert' });
  const button = h(
    'button',
    {
      type: 'button',
      ...attrs,
      onclick: async () => {
        button.disabled = true;
        message.textContent = '';
        try {
          await action();
        } catch (error) {
          message.textContent = error.message;
        } finally {
          button.disabled = false;
        }
      },
    },
    text,
  );
  return h('span', {}, button, ' ', message);
}

export function copyButton(getText, label = 'Copy') {
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        await navigator.clipboard.writeText(getText()).catch(() => undefined);
        announce('Copied');
      },
    },
    label,
  );
}

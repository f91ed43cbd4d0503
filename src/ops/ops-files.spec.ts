import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The ready-made files under ops/ (promtool checks alerts.yml too; this runs without it). */
const OPS_DIR = join(__dirname, '..', '..', 'ops');
const SRC_DIR = join(__dirname, '..');
const EXPORTED = registeredMetrics();

/** The `name` of every prom-client counter, gauge and histogram the code under src/ creates. */
function registeredMetrics(): string[] {
  const names = new Set<string>();
  const files = readdirSync(SRC_DIR, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'),
  );
  for (const file of files) {
    const text = readFileSync(join(SRC_DIR, file), 'utf8');
    for (const [, name] of text.matchAll(
      /new (?:Counter|Gauge|Histogram)(?:<[^>]*>)?\(\{\s*name: '(\w+)'/g,
    )) {
      names.add(name);
    }
  }
  return [...names];
}

function metricNames(expr: string): string[] {
  return (expr.match(/\b(?:kafka|hookstream)_[a-z_]+/g) ?? []).map((name) =>
    name.replace(/_(bucket|sum|count)$/, ''),
  );
}

interface Rule {
  alert: string;
  expr: string;
  body: string;
}

/** A deliberately small reader for the one shape alerts.yml uses: groups -> rules -> alert/expr/for. */
function parseRules(text: string): { groups: string[]; rules: Rule[] } {
  expect(text).not.toMatch(/\t/);
  expect(text).toMatch(/^groups:\s*$/m);
  const groups = [...text.matchAll(/^ {2}- name: (\S+)\s*$/gm)].map((m) => m[1]);
  const chunks = text.split(/^ {6}- alert: /m).slice(1);
  const rules = chunks.map((chunk) => {
    const alert = chunk.split('\n')[0].trim();
    const expr = /^ {8}expr: (?:\|\s*\n((?: {10}.*\n?)+)|(.+))$/m.exec(chunk);
    return { alert, expr: (expr?.[1] ?? expr?.[2] ?? '').trim(), body: chunk };
  });
  return { groups, rules };
}

describe('ops/prometheus/alerts.yml', () => {
  const { groups, rules } = parseRules(readFileSync(join(OPS_DIR, 'prometheus', 'alerts.yml'), 'utf8'));

  it('finds the metrics the code registers, which the checks below compare with', () => {
    expect(EXPORTED).toEqual(
      expect.arrayContaining([
        'kafka_consumergroup_lag',
        'hookstream_deliveries_total',
        'hookstream_cluster_exporter',
      ]),
    );
  });

  it('has one group of uniquely named rules, each with an expression, a severity and a summary', () => {
    expect(groups).toEqual(['hookstream']);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(rule.expr).not.toBe('');
      expect(rule.body).toMatch(/^ {8}for: \d+[smh]\s*$/m);
      expect(rule.body).toMatch(/^ {10}severity: (info|warning|critical)\s*$/m);
      expect(rule.body).toMatch(/^ {10}summary: (".+"|'.+')\s*$/m);
      expect(balanced(rule.expr)).toBe(true);
    }
  });

  it('covers lag, old events, dead letters, endpoints, empty groups, the exporter, handovers, held cycling', () => {
    const byMetric = (metric: string) => rules.filter((r) => metricNames(r.expr).includes(metric));
    expect(byMetric('kafka_consumergroup_lag')).not.toHaveLength(0);
    expect(byMetric('hookstream_oldest_unfinished_age_seconds')).not.toHaveLength(0);
    expect(byMetric('hookstream_dead_letters')).not.toHaveLength(0);
    expect(byMetric('hookstream_endpoints')).not.toHaveLength(0);
    expect(byMetric('kafka_consumergroup_members')).not.toHaveLength(0);
    expect(byMetric('hookstream_cluster_exporter')).not.toHaveLength(0);
    expect(byMetric('hookstream_partition_handovers_forced_total')).not.toHaveLength(0);
    expect(byMetric('hookstream_held_turned_away_total')).not.toHaveLength(0);
  });

  it('refers only to metrics the service exports', () => {
    for (const rule of rules) for (const name of metricNames(rule.expr)) expect(EXPORTED).toContain(name);
  });

  // promtool passes a test of an alert that does not exist, or of a series nothing exports: both
  // expect no alert and get none.
  it('has unit tests (alerts.test.yml) that name existing alerts and exported series only', () => {
    const tests = readFileSync(join(OPS_DIR, 'prometheus', 'alerts.test.yml'), 'utf8');
    const tested = [...tests.matchAll(/^ +alertname: (\w+)\s*$/gm)].map((m) => m[1]);
    expect(tested).not.toHaveLength(0);
    for (const alert of tested) expect(rules.map((r) => r.alert)).toContain(alert);
    const series = [...tests.matchAll(/^ +- series: '(\w+)\{/gm)].map((m) => m[1]);
    expect(series).not.toHaveLength(0);
    for (const name of series.filter((n) => n !== 'up')) expect(EXPORTED).toContain(name);
  });
});

describe('ops/grafana/hookstream-dashboard.json', () => {
  const dashboard = JSON.parse(
    readFileSync(join(OPS_DIR, 'grafana', 'hookstream-dashboard.json'), 'utf8'),
  ) as {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: Array<{ id: number; title: string; type: string; targets: Array<{ expr: string }> }>;
  };

  it('is a Grafana dashboard whose panels query exported metrics', () => {
    expect(dashboard).toMatchObject({ uid: 'hookstream', title: 'Hookstream' });
    expect(dashboard.schemaVersion).toBeGreaterThan(30);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    for (const expr of exprs) {
      expect(balanced(expr)).toBe(true);
      for (const name of metricNames(expr)) expect(EXPORTED).toContain(name);
    }
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const topic of [
      'lag per partition',
      'by outcome',
      'latency',
      'in-flight',
      'dead letters',
      'circuits',
    ]) {
      expect(titles).toContain(topic);
    }
    expect(exprs.some((e) => e.includes('histogram_quantile(0.99'))).toBe(true);
  });
});

function balanced(expr: string): boolean {
  let depth = 0;
  for (const char of expr.replace(/"[^"]*"/g, '')) {
    if ('([{'.includes(char)) depth += 1;
    if (')]}'.includes(char)) depth -= 1;
    if (depth < 0) return false;
  }
  return depth === 0;
}

describe('Dockerfile', () => {
  it('starts the service with the Node flags npm start uses (package.json config.node_options)', () => {
    const root = join(__dirname, '..', '..');
    const { config } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      config: { node_options: string };
    };
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    const args = JSON.parse(cmd?.[1] ?? '[]') as string[];
    expect(args).toEqual(['node', ...config.node_options.split(' ').filter(Boolean), 'dist/main.js']);
  });
});

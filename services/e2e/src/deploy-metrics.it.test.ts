/**
 * The Grafana dashboards and Prometheus alert rules shipped in the chart parse (PromQL with the
 * Prometheus project's own grammar, @prometheus-io/lezer-promql; rule files checked the way
 * `promtool check rules` does: groups, unique names, durations, labels) and every metric they
 * name is exported on /metrics by a running service of the local stack.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '@chaperone/config';
import { chartDir } from './lib/deploy.js';
import { loadStack } from './lib/stack.js';
import { errorMessage } from '@chaperone/observability';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; interval?: string; rules: Rule[] }[];
}
interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

const promDuration = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** Parses one PromQL expression; returns the metric names it selects, throws on a syntax error. */
function metricNames(expr: string): string[] {
  // Grafana's variables, as Grafana substitutes them before Prometheus sees the query.
  const q = expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replace(/\$\{?(\w+)\}?/g, '.*');
  const tree = parser.parse(q);
  const names: string[] = [];
  const errors: number[] = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(q.slice(node.from, node.to));
    },
  });
  if (errors.length) throw new Error(`PromQL syntax error at offset ${errors[0]} in: ${q}`);
  return names;
}

const rulesFile = join(chartDir, 'files/alerts/chaperone.rules.yaml');
const rules = parseYaml(readFileSync(rulesFile, 'utf8')) as RuleFile;
const dashboards = readdirSync(join(chartDir, 'files/dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(chartDir, 'files/dashboards', f), 'utf8')) as { uid: string; title: string; panels: Panel[] } }));

function panelsOf(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}

/** Every (where, expr) the dashboards and rules hold. */
const queries: { where: string; expr: string }[] = [
  ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr }))),
  ...dashboards.flatMap((d) => panelsOf(d.json.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${d.file}: ${p.title}`, expr: t.expr })))),
];

describe('dashboards and alert rules', () => {
  it('rule file: groups with unique names, alerts with an expression, a severity, a summary and valid durations', () => {
    assert.ok(rules.groups.length > 0);
    const groups = new Set<string>();
    const alerts = new Set<string>();
    for (const g of rules.groups) {
      assert.ok(!groups.has(g.name), `duplicate group ${g.name}`);
      groups.add(g.name);
      if (g.interval) assert.match(g.interval, promDuration);
      for (const r of g.rules) {
        assert.ok((r.alert === undefined) !== (r.record === undefined), `${g.name}: a rule is an alert or a recording rule`);
        assert.equal(typeof r.expr, 'string');
        if (r.for) assert.match(r.for, promDuration, `${r.alert}: for`);
        if (r.alert) {
          assert.ok(!alerts.has(r.alert), `duplicate alert ${r.alert}`);
          alerts.add(r.alert);
          assert.match(r.labels?.severity ?? '', /^(critical|warning|info)$/, `${r.alert}: severity`);
          assert.ok(r.annotations?.summary, `${r.alert}: summary`);
        }
      }
    }
    // What issue #18 asks the rules to cover.
    for (const a of ['ChaperoneRecordingFailures', 'ChaperoneKafkaAckLatencyHigh', 'ChaperoneMaterializerLag', 'ChaperoneApprovalBacklog', 'ChaperonePolicyReloadFailures'])
      assert.ok(alerts.has(a), `missing alert ${a}`);
  });

  it('dashboards: valid Grafana JSON with unique uids and panel ids', () => {
    assert.ok(dashboards.length > 0);
    for (const d of dashboards) {
      assert.ok(d.json.uid && d.json.title, d.file);
      const ids = panelsOf(d.json.panels).map((p) => (p as Panel & { id: number }).id);
      assert.equal(new Set(ids).size, ids.length, `${d.file}: duplicate panel ids`);
    }
    assert.equal(new Set(dashboards.map((d) => d.json.uid)).size, dashboards.length);
  });

  it('every expression parses as PromQL', () => {
    assert.ok(queries.length > 20);
    const errors: string[] = [];
    for (const q of queries) {
      try {
        assert.ok(metricNames(q.expr).length > 0, `${q.where}: names no metric`);
      } catch (err) {
        errors.push(`${q.where}: ${errorMessage(err)}`);
      }
    }
    assert.deepEqual(errors, []);
  });

  describe('against the running services', () => {
    const exported = new Set<string>();

    before(async () => {
      const stack = loadStack();
      const config = loadConfig(stack.CHAPERONE_CONFIG);
      const gateways = (stack.GATEWAY_HTTP_ADDRESSES ?? '').split(',').filter(Boolean);
      const hp = (h: { host: string; port: number }) => `${h.host}:${h.port}`;
      for (const address of [...gateways, hp(config.materializer.http), hp(config.api.http), hp(config.temporal.http)]) {
        const text = await (await fetch(`http://${address}/metrics`)).text();
        for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
          const [, name, type] = m;
          exported.add(name!);
          if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(`${name}${s}`);
          if (type === 'summary') for (const s of ['_sum', '_count']) exported.add(`${name}${s}`);
        }
      }
    });

    it('every metric the dashboards and rules name is exported on some service\'s /metrics', () => {
      assert.ok(exported.size > 50, `only ${exported.size} metrics exported`);
      const missing = queries.flatMap((q) => metricNames(q.expr).filter((n) => !exported.has(n)).map((n) => `${q.where}: ${n}`));
      assert.deepEqual(missing, []);
    });
  });
});

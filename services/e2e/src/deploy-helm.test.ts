/**
 * The Helm chart (deploy/helm/chaperone), offline: `helm lint` and `helm template` for the default
 * values and for ci/all-options-values.yaml (every option on); every rendered object validated
 * against the Kubernetes OpenAPI schemas (kubernetes-models, Gateway API, cert-manager, Prometheus
 * Operator); the config Secret run through the services' own validation (@chaperone/config); the
 * gateway's drain wiring; and the combinations the chart refuses.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { compileOptions, type Config } from '@chaperone/config';
import { allOptionsValues, chartDir, findObject, helm, renderChart, validateObject, type K8sObject } from './lib/deploy.js';

interface Container {
  name: string;
  args: string[];
  readinessProbe?: { httpGet: { path: string }; periodSeconds: number; failureThreshold: number };
  livenessProbe?: { httpGet: { path: string } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
  containers: Container[];
  affinity?: { podAntiAffinity: Record<string, unknown> };
}
const podSpec = (o: K8sObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;

// Environment the rendered configs' `{ env: … }` secrets read (the pods get them from Secrets).
const env = { UPSTREAM_PROD_PASSWORD: 'x', INTERNAL_API_KEY: 'x', SLACK_BOT_TOKEN: 'xoxb-x', SLACK_SIGNING_SECRET: 'x' };

function configOf(objects: K8sObject[], secret: string): Config {
  const text = findObject<{ stringData: Record<string, string> }>(objects, 'Secret', secret).stringData['chaperone.yaml']!;
  return compileOptions(parseYaml(text), '/etc/chaperone', { env, nodeId: 'chaperone-gateway-0' }, 'chaperone.yaml (rendered)');
}

const cases: [string, string[]][] = [
  ['default values', []],
  ['every option on (ci/all-options-values.yaml)', [allOptionsValues]],
];
for (const [label, files] of cases) {
  describe(`helm chart, ${label}`, () => {
    const objects = renderChart(files);
    const values = { drainTimeoutSeconds: files.length ? 60 : 30, drainDelaySeconds: files.length ? 10 : 5, margin: files.length ? 10 : 5 };

    it('passes helm lint --strict', () => {
      const r = helm(['lint', '--strict', chartDir, ...files.flatMap((f) => ['-f', f])]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    it('renders objects that all validate against the Kubernetes OpenAPI schemas', async () => {
      assert.ok(objects.length > 10, `only ${objects.length} objects`);
      const errors: string[] = [];
      for (const o of objects) await validateObject(o).catch((err: Error) => errors.push(err.message));
      assert.deepEqual(errors, []);
    });

    it('renders a config Secret that the services\' own validation accepts', () => {
      const config = configOf(objects, 'chaperone-config');
      assert.equal(config.gateway.drainTimeoutMs, values.drainTimeoutSeconds * 1000);
      assert.equal(config.gateway.drainDelayMs, values.drainDelaySeconds * 1000);
      assert.deepEqual(config.gateway.postgres.listen, { host: '0.0.0.0', port: 6432 });
      assert.equal(config.gateway.httpProxy?.listen.port, 8443);
      assert.equal(config.identity.signingKeyFile, '/etc/chaperone/keys/identity.pem');
      assert.equal(config.gateway.postgres.tls?.certFile, '/etc/chaperone/tls/tls.crt');
      // Pods seal under generated names (--node-id $(POD_NAME)): verify trusts the release's prefix.
      assert.deepEqual(config.recording.trustedNodeKeys, { 'chaperone-*': '/etc/chaperone/keys/node.pub.pem' });
      // The migrations Job reads a hook copy of the same configuration.
      assert.deepEqual(configOf(objects, 'chaperone-migrations-config'), config);
    });

    it('runs every service from the one image, as a CLI subcommand, non-root on a read-only root filesystem', () => {
      const deployments = objects.filter((o) => o.kind === 'Deployment');
      assert.deepEqual(deployments.map((d) => podSpec(d).containers[0]!.args[0]).sort(), ['api', 'approvals-worker', 'gateway', 'materializer']);
      const job = findObject(objects, 'Job', 'chaperone-migrations');
      for (const o of [...deployments, job]) {
        const spec = podSpec(o);
        assert.equal(spec.securityContext.runAsNonRoot, true, o.metadata.name);
        const c = spec.containers[0]!;
        assert.equal(c.securityContext.readOnlyRootFilesystem, true, o.metadata.name);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, o.metadata.name);
        assert.ok(c.volumeMounts.some((m) => m.mountPath === '/tmp'), `${o.metadata.name} has a writable /tmp`);
      }
      assert.equal(podSpec(job).containers[0]!.args[0], 'migrate');
    });

    it('drains the gateway: unready (/healthz) before drainDelay, live (/livez), grace period = drainTimeout + margin', () => {
      const spec = podSpec(findObject(objects, 'Deployment', 'chaperone-gateway'));
      const c = spec.containers[0]!;
      assert.equal(spec.terminationGracePeriodSeconds, values.drainTimeoutSeconds + values.margin);
      assert.equal(c.readinessProbe?.httpGet.path, '/healthz');
      assert.equal(c.livenessProbe?.httpGet.path, '/livez');
      assert.ok(c.readinessProbe.periodSeconds * c.readinessProbe.failureThreshold < values.drainDelaySeconds, 'readiness notices the drain before the listeners close');
      assert.ok(spec.affinity?.podAntiAffinity, 'gateways spread over nodes');
      for (const kind of ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']) findObject(objects, kind, 'chaperone-gateway');
      for (const kind of ['NetworkPolicy']) findObject(objects, kind, 'chaperone-gateway');
    });
  });
}

describe('helm chart, options', () => {
  const all = renderChart([allOptionsValues]);

  it('routes PostgreSQL (TCPRoute) and HTTPS passthrough (TLSRoute) through a Gateway API Gateway', () => {
    const tcp = findObject<{ spec: { parentRefs: { sectionName: string }[] } }>(all, 'TCPRoute', 'chaperone-postgres');
    const tls = findObject<{ spec: { parentRefs: { sectionName: string }[]; hostnames: string[] } }>(all, 'TLSRoute', 'chaperone-https');
    assert.equal(tcp.spec.parentRefs[0]!.sectionName, 'postgres');
    assert.equal(tls.spec.parentRefs[0]!.sectionName, 'tls-passthrough');
    assert.deepEqual(tls.spec.hostnames, ['chaperone.example.com']);
  });

  it('ships the alert rules and dashboards of deploy/helm/chaperone/files', () => {
    const rule = findObject<{ spec: unknown }>(all, 'PrometheusRule', 'chaperone');
    assert.deepEqual(rule.spec, parseYaml(readFileSync(join(chartDir, 'files/alerts/chaperone.rules.yaml'), 'utf8')));
    const dash = findObject<{ data: Record<string, string>; metadata: { labels: Record<string, string> } }>(all, 'ConfigMap', 'chaperone-dashboard-chaperone-overview');
    assert.equal(dash.metadata.labels.grafana_dashboard, '1');
    assert.equal((JSON.parse(dash.data['chaperone-overview.json']!) as { uid: string }).uid, 'chaperone-overview');
    findObject(all, 'ServiceMonitor', 'chaperone');
    findObject(all, 'Certificate', 'chaperone-gateway');
  });

  it('keeps agents to the gateway and the backends to the services', () => {
    const temporal = findObject(all, 'NetworkPolicy', 'chaperone-temporal-clients');
    assert.equal(temporal.metadata.namespace, 'temporal');
    const clickhouse = findObject<{ spec: { ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[] }[] } }>(all, 'NetworkPolicy', 'chaperone-clickhouse-clients');
    assert.deepEqual(clickhouse.spec.ingress[0]!.from.map((f) => f.podSelector.matchLabels['app.kubernetes.io/component']), ['materializer', 'migrations', 'api']);
    findObject(all, 'NetworkPolicy', 'chaperone-default-deny');
  });

  it('serves the web console from the API pods: api.web with the mounted TLS Secret, an https port on the pod and the Service, and no console when turned off', () => {
    const objects = renderChart([], ['api.web.tlsSecret=console-tls', 'api.service.webPort=8443']);
    const web = configOf(objects, 'chaperone-config').api.web;
    assert.deepEqual(web?.listen, { host: '0.0.0.0', port: 9443 });
    assert.equal(web?.tls.certFile, '/etc/chaperone/tls/tls.crt');
    const spec = podSpec(findObject(objects, 'Deployment', 'chaperone-api'));
    const c = spec.containers[0]! as Container & { ports: { name: string; containerPort: number }[] };
    assert.ok(c.ports.some((p) => p.name === 'https' && p.containerPort === 9443));
    assert.ok(c.volumeMounts.some((m) => m.mountPath === '/etc/chaperone/tls'), 'the TLS Secret is mounted');
    const volumes = (spec as PodSpec & { volumes: { name: string; secret?: { secretName: string } }[] }).volumes;
    assert.equal(volumes.find((v) => v.name === 'tls')?.secret?.secretName, 'console-tls');
    // Ready only once the console listens too: the API's /healthz is up after api.web is bound.
    assert.equal(c.readinessProbe?.httpGet.path, '/healthz');
    const svc = findObject<{ spec: { ports: { name: string; port: number; targetPort: string }[] } }>(objects, 'Service', 'chaperone-api');
    assert.deepEqual(svc.spec.ports.find((p) => p.name === 'https'), { name: 'https', port: 8443, targetPort: 'https', protocol: 'TCP', appProtocol: 'https' });
    const np = findObject<{ spec: { ingress: { ports: { port: string }[] }[] } }>(objects, 'NetworkPolicy', 'chaperone-api');
    assert.deepEqual(np.spec.ingress[0]!.ports.map((p) => p.port), ['grpc', 'https']);
    const off = renderChart([], ['api.web.enabled=false']);
    assert.equal(configOf(off, 'chaperone-config').api.web, undefined);
    assert.ok(!podSpec(findObject(off, 'Deployment', 'chaperone-api')).containers[0]!.volumeMounts.some((m) => m.mountPath === '/etc/chaperone/tls'));
  });

  it('mounts an overriding policy bundle and points policy.bundleFile at it', () => {
    const config = configOf(all, 'chaperone-config');
    assert.equal(config.policy.bundleFile, '/etc/chaperone/policy/bundle.tar.gz');
    assert.equal(configOf(renderChart(), 'chaperone-config').policy.bundleFile, '/opt/chaperone/policy/bundle.tar.gz');
  });

  it('refuses more materializers than partitions, a drain delay readiness cannot notice, and unknown values', () => {
    assert.throws(() => renderChart([], ['materializer.replicas=13']), /materializer.replicas \(13\) must not exceed kafka.partitions \(12\)/);
    assert.throws(() => renderChart([], ['gateway.drainDelaySeconds=2']), /must exceed readinessProbe/);
    assert.throws(() => renderChart([], ['gatewy.replicas=3']), /additional properties|gatewy/i);
    assert.throws(() => renderChart([], ['gateway.service.type=Ingress']), /gateway\.service\.type|must be one of/i);
  });
});

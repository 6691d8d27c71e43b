/** Bad playbook and health files are refused with the file, the path and what was expected. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigErrors } from '../errors.js';
import { loadHealth, loadPlaybooks } from './playbooks.js';
import { WINDOWS } from '../../test/fixtures/rules.js';

const dir = mkdtempSync(join(tmpdir(), 'pulso-playbooks-'));
const write = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigErrors);
    return (e as ConfigErrors).errors.map((x) => x.message);
  }
  throw new Error('accepted');
};

const valid = `
  - id: ok
    title: T
    category: C
    schedule: { every: weekly }
    when: { all: [ { count: { event: 'tela:x', windowDays: 7, op: '=', value: 0 } } ] }
    actions: [ { health: -3 } ]`;

describe('playbook files', () => {
  it('the shipped playbooks load, with defaults filled', () => {
    const p = loadPlaybooks(['deploy/playbooks'], WINDOWS);
    expect(p.map((x) => x.id)).toContain('criar-produto-sem-uso');
    expect(p.every((x) => Array.isArray(x.filters) && typeof x.description === 'string')).toBe(
      true,
    );
  });

  it('a health action of 0 says what is expected, not "must NOT be valid"', () => {
    const f = write('zero.yaml', `playbooks:${valid.replace('health: -3', 'health: 0')}`);
    expect(problems(() => loadPlaybooks([f], WINDOWS))).toEqual([
      expect.stringMatching(
        /zero\.yaml: \/playbooks\/0\/actions\/0\/health: expected a value other than 0, got 0$/,
      ),
    ]);
  });

  it('name the file, the path and the expectation for every problem at once', () => {
    const f = write(
      'bad.yaml',
      `playbooks:
  - id: Bad Id
    title: T
    category: C
    schedule: { every: hourly }
    when: { all: [ { count: { event: 'tela:x', windowDays: 7, op: '=~', value: 0 } }, { countt: {} } ] }
    actions: [ { task: { title: X } } ]
`,
    );
    const p = problems(() => loadPlaybooks([f], WINDOWS));
    expect(p).toEqual(
      expect.arrayContaining([
        `${f}: /playbooks/0/id: expected a string matching ^[a-z0-9][a-z0-9_-]*$, got "Bad Id"`,
        `${f}: /playbooks/0/schedule/every: expected one of "daily", "weekly", "monthly", "continuous", got "hourly"`,
        `${f}: /playbooks/0/when/all/0/count/op: expected one of "=", "!=", ">", ">=", "<", "<=", got "=~"`,
        expect.stringMatching(
          /\/playbooks\/0\/when\/all\/1\/countt: expected no such field \(allowed: count, activeUsers, change, ratio/,
        ),
        `${f}: /playbooks/0/actions/0/task/dueInDays: expected a value (required field is missing)`,
      ]),
    );
  });

  it('refuse what the schema cannot see: two subjects, unkept windows, unknown per-user pairs, twice the same id', () => {
    const f = write(
      'semantic.yaml',
      `playbooks:${valid}
  - id: ok
    title: T
    category: C
    schedule: { every: continuous }
    when:
      any:
        - count: { event: 'tela:x', kind: screen, windowDays: 7, op: '=', value: 0 }
        - change: { all: true, windowDays: 14, op: '>=', value: 50 }
        - ratio: { a: 'tela:a', b: 'tela:b', windowDays: 30, op: '>', value: 80, scope: anyUser }
    actions: [ { health: 1 } ]
`,
    );
    const p = problems(() => loadPlaybooks([f], WINDOWS));
    expect(p).toEqual([
      `${f}: /playbooks/1/id: expected an id not used already (${f}/playbooks/0), got "ok"`,
      `${f}: /playbooks/1/schedule/cooldownDays: expected a cooldown in days for a continuous playbook`,
      `${f}: /playbooks/1/when/any/0/count: expected exactly one of event, kind, all (got event, kind)`,
      `${f}: /playbooks/1/when/any/1/change/windowDays: expected a window listed in windows.days (1, 7, 30); add 14 there to use it, got 14`,
      `${f}: /playbooks/1/when/any/2/ratio: expected a pair in windows.ratios counted per user: {id: tela:a_vs_tela:b, a: tela:a, b: tela:b, windowDays: 30, perUser: true} (configured: pedidos_vs_faturamento)`,
    ]);
  });

  it('refuse unreadable YAML and a missing directory', () => {
    const f = write('broken.yaml', 'playbooks: [ {');
    expect(problems(() => loadPlaybooks([f], WINDOWS))[0]).toMatch(
      new RegExp(`^${f}: \\(root\\): expected a readable YAML or JSON document`),
    );
    expect(problems(() => loadPlaybooks([join(dir, 'nope')], WINDOWS))[0]).toContain(
      'expected a playbook file or directory',
    );
  });
});

describe('health files', () => {
  it('refuse weights not adding up to 100, bands out of order, points above the maximum', () => {
    const f = write(
      'health.yaml',
      `components:
  - id: logins
    title: Logins
    weight: 15
    figure: { count: { kind: login, windowDays: 7 } }
    bands: [ { min: 1, points: 3 }, { min: 5, points: 12 } ]
`,
    );
    expect(problems(() => loadHealth(f, WINDOWS))).toEqual([
      `${f}: /components: expected weights adding up to 100, got "they add up to 15"`,
      `${f}: /components/0/bands/1/min: expected below the band before (1): highest first, got 5`,
      `${f}: /components/0/bands/1/points: expected at most maxPoints (10), got 12`,
    ]);
  });

  it('refuse a profile that weighs an unknown component, misses one, or does not add up to 100', () => {
    const f = write(
      'health-profiles.yaml',
      `components:
  - { id: a, title: A, weight: 60, figure: { count: { kind: login, windowDays: 7 } }, bands: [ { min: 1, points: 10 } ] }
  - { id: b, title: B, weight: 40, figure: { attribute: { name: dias_em_atraso } }, bands: [ { min: 0, points: 10 } ] }
profiles:
  - { id: onboarding, when: [ { attribute: status, op: '=', value: onboarding } ], weights: { a: 70, c: 30 } }
`,
    );
    expect(problems(() => loadHealth(f, WINDOWS))).toEqual([
      `${f}: /profiles/0/weights/c: expected a component of the model (a, b), got "c"`,
      `${f}: /profiles/0/weights: expected a weight for every component, got "none for b"`,
    ]);
  });

  it('refuse unknown fields and thresholds out of range', () => {
    const f = write('health2.yaml', 'thresholds: { green: 120 }\ncomponents: []\nextra: 1\n');
    expect(problems(() => loadHealth(f, WINDOWS))).toEqual(
      expect.arrayContaining([
        `${f}: /extra: expected no such field (allowed: thresholds, adjustments, components, profiles)`,
        `${f}: /thresholds/green: expected a number <= 100, got 120`,
        `${f}: /components: expected a list of at least 1 item, got []`,
      ]),
    );
  });
});

describe('webhook secrets', () => {
  it('a playbook naming an unset secret variable is refused at start, with where it is named', async () => {
    const { loadRules } = await import('./playbooks.js');
    const { loadConfig } = await import('./load.js');
    const f = write(
      'hook.yaml',
      `playbooks:
  - id: hook
    title: T
    category: C
    schedule: { every: daily }
    when: { all: [ { count: { all: true, windowDays: 7, op: '=', value: 0 } } ] }
    actions: [ { webhook: { url: 'https://crm.example.com/hook', secretEnv: CRM_SECRET } } ]
`,
    );
    const config = loadConfig({ env: { PULSO_RULES__PLAYBOOKS: JSON.stringify([f]) } });
    expect(problems(() => loadRules(config, {}))).toEqual([
      `${f}: /playbooks/0/actions/0/webhook/secretEnv: expected the environment variable CRM_SECRET to hold the signing secret, got "not set"`,
    ]);
    expect(loadRules(config, { CRM_SECRET: 's' }).playbooks.map((p) => p.id)).toEqual(['hook']);
  });
});

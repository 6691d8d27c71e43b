/**
 * Loads playbook files and the health model, refusing at start anything that would not
 * evaluate as written: each problem names the file, the JSON Pointer inside it and what was
 * expected. Beyond the JSON Schemas, it checks what a schema cannot say: one subject per
 * figure, windows the pipeline keeps (windows.days), per-user pairs it counts
 * (windows.ratios), weights adding up to 100, bands in order, unique ids.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { HealthConfig } from '../../operators/playbooks/health.js';
import type { Playbook } from '../../operators/playbooks/playbook.js';
import { compileConditions } from '../../operators/playbooks/conditions/index.js';
import { describeErrors, validateHealth, validatePlaybooks } from '../../schemas/index.js';
import { ConfigError, ConfigErrors } from '../errors.js';
import type { Config } from './types.js';

type Windows = Pick<Config['windows'], 'days' | 'ratios'>;

/** The rules configuration, loaded and checked: what `startPipeline` and the CLI use. */
export interface RulesFiles {
  playbooks: Playbook[];
  health: HealthConfig;
}

export function loadRules(c: Config, env: NodeJS.ProcessEnv = process.env): RulesFiles {
  const playbooks = loadPlaybooks(c.rules.playbooks.map(installedPath), c.windows);
  const health = loadHealth(installedPath(c.rules.health), c.windows);
  const missing: ConfigError[] = [];
  for (const p of playbooks)
    p.actions.forEach((a, i) => {
      if ('webhook' in a && a.webhook.secretEnv && !env[a.webhook.secretEnv])
        missing.push(
          new ConfigError(
            p.source!.split('#')[0]!,
            `${p.source!.split('#')[1]}/actions/${i}/webhook/secretEnv`,
            `the environment variable ${a.webhook.secretEnv} to hold the signing secret`,
            'not set',
          ),
        );
    });
  if (missing.length > 0) throw new ConfigErrors(missing);
  return { playbooks, health };
}

/** A relative path from the working directory if it exists there, else from the installation. */
export function installedPath(p: string): string {
  if (isAbsolute(p) || existsSync(p)) return resolve(p);
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, p);
}

/** Files named by `paths`: a file as is, a directory's *.yaml, *.yml and *.json sorted by name. */
export function playbookFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    let dir: boolean;
    try {
      dir = statSync(abs).isDirectory();
    } catch {
      throw new ConfigErrors([new ConfigError(abs, '', 'a playbook file or directory', 'missing')]);
    }
    if (!dir) {
      files.push(abs);
      continue;
    }
    const found = readdirSync(abs)
      .sort()
      .filter((f) => /\.(ya?ml|json)$/.test(f));
    if (found.length === 0)
      throw new ConfigErrors([
        new ConfigError(
          abs,
          '',
          'a directory holding *.yaml, *.yml or *.json playbook files',
          'none',
        ),
      ]);
    for (const f of found) files.push(join(abs, f));
  }
  return files;
}

export function loadPlaybooks(paths: string[], windows: Windows): Playbook[] {
  const errors: ConfigError[] = [];
  const playbooks: Playbook[] = [];
  const seen = new Map<string, string>();
  for (const file of playbookFiles(paths)) {
    const doc = readDocument(file, errors);
    if (doc === undefined) continue;
    if (!validatePlaybooks(doc)) {
      for (const i of describeErrors(validatePlaybooks.errors, doc))
        errors.push(new ConfigError(file, i.path, i.expected, i.actual));
      continue;
    }
    (doc as { playbooks: (Playbook & { enabled: boolean })[] }).playbooks.forEach((p, i) => {
      const at = `/playbooks/${i}`;
      const where = seen.get(p.id);
      if (where)
        errors.push(new ConfigError(file, `${at}/id`, `an id not used already (${where})`, p.id));
      seen.set(p.id, `${file}${at}`);
      for (const [path, expected, actual] of checkPlaybook(p, windows))
        errors.push(new ConfigError(file, `${at}${path}`, expected, actual));
      if (p.enabled) playbooks.push({ ...p, source: `${file}#${at}` });
    });
  }
  // A twin is another loaded playbook, and only closing by twin names one.
  for (const p of playbooks) {
    const [file, at] = p.source!.split('#') as [string, string];
    if (p.closeWhen === 'twin' && !playbooks.some((q) => q.id === p.twin && q.id !== p.id))
      errors.push(
        new ConfigError(
          file,
          `${at}/twin`,
          'the id of another loaded playbook (closeWhen: twin)',
          p.twin ?? 'none',
        ),
      );
    else if (p.closeWhen !== 'twin' && p.twin !== undefined)
      errors.push(
        new ConfigError(file, `${at}/closeWhen`, 'twin, when a twin is named', p.closeWhen),
      );
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return playbooks;
}

export function loadHealth(file: string, windows: Windows): HealthConfig {
  const errors: ConfigError[] = [];
  const abs = resolve(file);
  const doc = readDocument(abs, errors);
  if (doc !== undefined && !validateHealth(doc))
    for (const i of describeErrors(validateHealth.errors, doc))
      errors.push(new ConfigError(abs, i.path, i.expected, i.actual));
  if (errors.length === 0) {
    const h = doc as HealthConfig;
    const total = h.components.reduce((s, c) => s + c.weight, 0);
    if (Math.abs(total - 100) > 1e-9)
      errors.push(
        new ConfigError(abs, '/components', 'weights adding up to 100', `they add up to ${total}`),
      );
    // A profile weighs every component, and its weights add up to 100 too.
    const ids = h.components.map((c) => c.id);
    h.profiles.forEach((p, i) => {
      const at = `/profiles/${i}/weights`;
      for (const id of Object.keys(p.weights))
        if (!ids.includes(id))
          errors.push(
            new ConfigError(abs, `${at}/${id}`, `a component of the model (${ids.join(', ')})`, id),
          );
      for (const id of ids)
        if (p.weights[id] === undefined)
          errors.push(new ConfigError(abs, at, `a weight for every component`, `none for ${id}`));
      const sum = Object.values(p.weights).reduce<number>((a, b) => a + (b ?? 0), 0);
      if (Math.abs(sum - 100) > 1e-9)
        errors.push(new ConfigError(abs, at, 'weights adding up to 100', `they add up to ${sum}`));
    });
    if (h.thresholds.yellow > h.thresholds.green)
      errors.push(
        new ConfigError(
          abs,
          '/thresholds/yellow',
          `at most green (${h.thresholds.green})`,
          h.thresholds.yellow,
        ),
      );
    h.components.forEach((c, i) => {
      const at = `/components/${i}`;
      const f = c.figure;
      if ('count' in f) errors.push(...activityErrors(f.count, abs, `${at}/figure/count`));
      // An attribute is read as it stands: no window.
      const inner =
        'count' in f
          ? f.count
          : 'activeUsers' in f
            ? f.activeUsers
            : 'metric' in f
              ? f.metric
              : undefined;
      const w = inner && windowError(inner.windowDays, windows);
      if (w) errors.push(new ConfigError(abs, `${at}/figure`, w, inner.windowDays));
      c.bands.forEach((b, j) => {
        if (j > 0 && b.min >= c.bands[j - 1]!.min)
          errors.push(
            new ConfigError(
              abs,
              `${at}/bands/${j}/min`,
              `below the band before (${c.bands[j - 1]!.min}): highest first`,
              b.min,
            ),
          );
        if (b.points > c.maxPoints)
          errors.push(
            new ConfigError(
              abs,
              `${at}/bands/${j}/points`,
              `at most maxPoints (${c.maxPoints})`,
              b.points,
            ),
          );
      });
    });
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return { ...(doc as HealthConfig), source: abs };
}

function readDocument(file: string, errors: ConfigError[]): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8')) as unknown;
  } catch (cause) {
    errors.push(
      new ConfigError(
        file,
        '',
        'a readable YAML or JSON document',
        (cause as Error).message.split('\n')[0],
      ),
    );
    return undefined;
  }
}

type Problem = [path: string, expected: string, actual?: unknown];

function checkPlaybook(p: Playbook, windows: Windows): Problem[] {
  const out: Problem[] = [];
  if (p.schedule.every === 'continuous' && !('cooldownDays' in p.schedule))
    out.push(['/schedule/cooldownDays', 'a cooldown in days for a continuous playbook']);
  const key = 'all' in p.when ? 'all' : 'any';
  // Resolving each condition's kind here is what the rules stage uses afterwards.
  compileConditions(p).forEach((c, i) => {
    const at = `/when/${key}/${i}`;
    const win = (n: number, path: string) => {
      const w = windowError(n, windows);
      if (w) out.push([`${at}${path}`, w, n]);
    };
    switch (c.kind) {
      case 'count':
      case 'change':
        out.push(...activityProblems(c.spec, `${at}/${c.kind}`));
        win(c.spec.windowDays, `/${c.kind}/windowDays`);
        break;
      case 'inactivity':
        out.push(...activityProblems(c.spec, `${at}/inactivity`));
        break;
      case 'activeUsers':
      case 'metric':
        win(c.spec.windowDays, `/${c.kind}/windowDays`);
        break;
      case 'health':
        break;
      case 'ratio': {
        const r = c.spec;
        if ((r.scope ?? 'client') === 'client') win(r.windowDays, '/ratio/windowDays');
        else {
          const id = r.pair ?? `${r.a}_vs_${r.b}`;
          const pair = windows.ratios.find((x) => x.id === id);
          if (
            !pair ||
            !pair.perUser ||
            pair.a !== r.a ||
            pair.b !== r.b ||
            pair.windowDays !== r.windowDays
          )
            out.push([
              `${at}/ratio`,
              `a pair in windows.ratios counted per user: {id: ${id}, a: ${r.a}, b: ${r.b}, windowDays: ${r.windowDays}, perUser: true} (configured: ${windows.ratios.map((x) => x.id).join(', ') || 'none'})`,
            ]);
          if (r.scope === 'shareOfUsers' && r.share === undefined)
            out.push([`${at}/ratio/share`, 'the share (%) of users that must hold']);
        }
        break;
      }
    }
  });
  return out;
}

function activityProblems(s: object, path: string): Problem[] {
  const given = ['event', 'kind', 'all'].filter((k) => k in s);
  return given.length === 1
    ? []
    : [
        [
          path,
          `exactly one of event, kind, all (got ${given.length === 0 ? 'none' : given.join(', ')})`,
        ],
      ];
}

function activityErrors(s: object, file: string, path: string): ConfigError[] {
  return activityProblems(s, path).map(([p, e]) => new ConfigError(file, p, e));
}

/** Windows must be ones the pipeline keeps, so live verdicts and dry runs read the same figures. */
function windowError(n: number, windows: Windows): string | undefined {
  return windows.days.includes(n)
    ? undefined
    : `a window listed in windows.days (${windows.days.join(', ')}); add ${n} there to use it`;
}

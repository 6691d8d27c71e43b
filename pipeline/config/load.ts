/**
 * Loads the one configuration: defaults, then a file (YAML or JSON), then environment
 * variables, validated against schemas/config.schema.json. Any problem is refused here,
 * at start, naming where the value came from, its path and what was expected.
 */
import { questDbCredentialsFile, readQuestDbCredentials } from '../../deploy/services/questdb.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { IANAZone } from 'luxon';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { describeErrors, schemas, validateConfig } from '../../schemas/index.js';
import { ConfigError, ConfigErrors } from '../errors.js';
import type { Config } from './types.js';

export type { Config };

export interface LoadOptions {
  /** Path of the configuration file; falls back to PULSO_CONFIG; none means defaults only. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values set last, e.g. from CLI flags, as JSON Pointer → value. */
  overrides?: Record<string, unknown>;
}

const ENV_PREFIX = 'PULSO_';
/** Variables that are not configuration keys. */
const ENV_RESERVED = new Set([
  'PULSO_CONFIG',
  'PULSO_DEBUG',
  // Set by the supervisor for the pipeline it runs (supervisor.ts).
  'PULSO_SUPERVISOR_RESTARTS',
  'PULSO_SUPERVISOR_LAST_EXIT',
  // Test-only fault injection and fuzzing (ingest.ts, test/).
  'PULSO_TEST_FAULT_CLIENT',
  'PULSO_TEST_FAULT_MODE',
  'PULSO_FUZZ_SEED',
  'PULSO_FUZZ_RUNS',
  'PULSO_FUZZ_CASES',
]);

const origins = new WeakMap<object, Map<string, string>>();

/**
 * Where a key of a loaded configuration was set (a file, an environment variable, the
 * command line or "defaults"), for errors found after loading, e.g. at start.
 */
export function originOf(config: Config, pointer: string): string {
  const origin = origins.get(config);
  return origin ? sourceOf(pointer, origin) : 'configuration';
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.PULSO_CONFIG;
  const doc: Record<string, unknown> = file ? readConfigFile(file) : {};
  const origin = new Map<string, string>(); // JSON Pointer → where it was set
  if (file) markOrigins(doc, '', resolve(file), origin);

  const errors: ConfigError[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    if (name === 'NATS_URL') {
      // A server named by NATS_URL is used as it is, never started by Pulso.
      setPointer(doc, '/nats/url', raw);
      setPointer(doc, '/services/nats', 'external');
      origin.set('/nats/url', 'environment NATS_URL');
      continue;
    }
    if (!name.startsWith(ENV_PREFIX) || ENV_RESERVED.has(name)) continue;
    const pointer = envNameToPointer(name);
    if (!pointer) {
      errors.push(
        new ConfigError(
          `environment ${name}`,
          '',
          'PULSO_<SECTION>__<KEY>, e.g. PULSO_INGEST__BATCH_SIZE',
        ),
      );
      continue;
    }
    setPointer(doc, pointer, parseEnvValue(raw));
    origin.set(pointer, `environment ${name}`);
  }
  for (const [pointer, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    setPointer(doc, pointer, value);
    origin.set(pointer, 'command line');
  }

  if (!validateConfig(doc)) {
    for (const issue of describeErrors(validateConfig.errors, doc)) {
      errors.push(
        new ConfigError(sourceOf(issue.path, origin), issue.path, issue.expected, issue.actual),
      );
    }
  }
  const windows = doc.windows as Config['windows'] | undefined;
  if (errors.length === 0 && windows && !IANAZone.isValidZone(windows.timeZone)) {
    errors.push(
      new ConfigError(
        sourceOf('/windows/timeZone', origin),
        '/windows/timeZone',
        'an IANA time zone such as UTC, America/Sao_Paulo or Europe/Lisbon',
        windows.timeZone,
      ),
    );
  }
  if (errors.length === 0) errors.push(...natsAuthErrors(doc as unknown as Config, origin));
  if (errors.length > 0) throw new ConfigErrors(errors);
  const config = doc as unknown as Config;
  withGeneratedQuestDbCredentials(config, origin);
  origins.set(doc, origin);
  return config;
}

/** Each role's credentials name one way to authenticate, whole. */
function natsAuthErrors(c: Config, origin: Map<string, string>): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const [role, a] of Object.entries(c.nats.auth)) {
    if (!a) continue;
    const ways = [
      a.user !== undefined || a.password !== undefined,
      a.token !== undefined,
      a.seedFile !== undefined,
      a.credsFile !== undefined,
    ].filter(Boolean).length;
    const path = `/nats/auth/${role}`;
    if (ways !== 1 || (a.user === undefined) !== (a.password === undefined))
      errors.push(
        new ConfigError(
          sourceOf(path, origin),
          path,
          'exactly one of: user and password, token, seedFile, credsFile',
          Object.keys(a).join(', ') || '(nothing)',
        ),
      );
  }
  return errors;
}

/**
 * QuestDB's users, when the configuration names none: those Pulso generated for the
 * QuestDB it manages in services.dataDir, else QuestDB's own default (an external server
 * left as installed).
 */
function withGeneratedQuestDbCredentials(c: Config, origin: Map<string, string>): void {
  const q = c.questdb;
  const generated = readQuestDbCredentials(c.services.dataDir);
  const from = `the credentials Pulso generated (${questDbCredentialsFile(c.services.dataDir)})`;
  if (q.user === undefined) {
    q.user = generated?.user ?? 'admin';
    q.password ??= generated?.password ?? 'quest';
    origin.set('/questdb/user', generated ? from : 'default');
    origin.set('/questdb/password', generated ? from : 'default');
  }
  if (q.readOnlyUser === undefined && generated) {
    q.readOnlyUser = generated.readOnlyUser;
    q.readOnlyPassword ??= generated.readOnlyPassword;
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      resolve(file),
      '',
      'a readable configuration file',
      (cause as Error).message,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text); // YAML is a superset of JSON: one parser for both.
  } catch (cause) {
    const where =
      cause instanceof YAMLParseError && cause.linePos ? ` at line ${cause.linePos[0].line}` : '';
    throw new ConfigError(
      resolve(file),
      '',
      `valid YAML or JSON${where}`,
      (cause as Error).message.split('\n')[0],
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(
      resolve(file),
      '',
      'a mapping of sections (nats, questdb, ingest, …)',
      doc,
    );
  }
  return doc as Record<string, unknown>;
}

/** PULSO_INGEST__BATCH_SIZE → /ingest/batchSize; checked against the schema's own keys. */
export function envNameToPointer(name: string): string | undefined {
  const parts = name.slice(ENV_PREFIX.length).split('__');
  if (parts.some((p) => p === '' || p.startsWith('_') || p.endsWith('_'))) return undefined;
  const keys = parts.map((p) =>
    p.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
  );
  // Map onto the schema's spelling so that e.g. PULSO_NATS__URL finds "url".
  type SchemaNode = { properties?: Record<string, unknown> } | undefined;
  let node = schemas.config as unknown as SchemaNode;
  const out: string[] = [];
  for (const key of keys) {
    const props: Record<string, unknown> = node?.properties ?? {};
    const match = Object.keys(props).find((k) => k.toLowerCase() === key.toLowerCase()) ?? key;
    out.push(match);
    node = props[match] as SchemaNode;
  }
  return `/${out.join('/')}`;
}

function parseEnvValue(raw: string): unknown {
  const t = raw.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return raw;
    }
  }
  return raw;
}

function setPointer(doc: Record<string, unknown>, pointer: string, value: unknown): void {
  const keys = pointer.slice(1).split('/');
  let cur: Record<string, unknown> = doc;
  for (const key of keys.slice(0, -1)) {
    const next = cur[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

function markOrigins(
  node: unknown,
  pointer: string,
  source: string,
  origin: Map<string, string>,
): void {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    origin.set(pointer, source);
    return;
  }
  origin.set(pointer, source);
  for (const [k, v] of Object.entries(node)) markOrigins(v, `${pointer}/${k}`, source, origin);
}

function sourceOf(pointer: string, origin: Map<string, string>): string {
  for (let p = pointer; ; p = p.slice(0, p.lastIndexOf('/'))) {
    const found = origin.get(p);
    if (found) return found;
    if (p === '') return 'defaults';
  }
}

/**
 * The contract's JSON Schemas, compiled once. Everything that checks an input against a
 * schema goes through here, so there is one ajv instance and one way errors are described.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import common from './common.schema.json' with { type: 'json' };
import trackingEvent from './tracking-event.schema.json' with { type: 'json' };
import clientUpdate from './client-update.schema.json' with { type: 'json' };
import userUpdate from './user-update.schema.json' with { type: 'json' };
import taskUpdate from './task-update.schema.json' with { type: 'json' };
import deadLetter from './dead-letter.schema.json' with { type: 'json' };
import config from './config.schema.json' with { type: 'json' };
import playbook from './playbook.schema.json' with { type: 'json' };
import health from './health.schema.json' with { type: 'json' };
import alertOut from './outputs/alert.schema.json' with { type: 'json' };
import healthOut from './outputs/health.schema.json' with { type: 'json' };
import taskOut from './outputs/task.schema.json' with { type: 'json' };
import tagOut from './outputs/tag.schema.json' with { type: 'json' };
import notifyOut from './outputs/notify.schema.json' with { type: 'json' };
import emailOut from './outputs/email.schema.json' with { type: 'json' };
import webhookOut from './outputs/webhook.schema.json' with { type: 'json' };
import taskClosedOut from './outputs/task-closed.schema.json' with { type: 'json' };

// ajv-formats ships CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const strict = new Ajv({
  verbose: true,
  allErrors: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
});
addFormats(strict);
strict.addSchema(common);

// The configuration validator fills defaults in place.
const withDefaults = new Ajv({
  verbose: true,
  allErrors: true,
  strict: true,
  strictRequired: false,
  useDefaults: true,
  allowUnionTypes: true,
});

export const validateTrackingEvent: ValidateFunction = strict.compile(trackingEvent);
export const validateClientUpdate: ValidateFunction = strict.compile(clientUpdate);
export const validateUserUpdate: ValidateFunction = strict.compile(userUpdate);
export const validateTaskUpdate: ValidateFunction = strict.compile(taskUpdate);
export const validateDeadLetter: ValidateFunction = strict.compile(deadLetter);
export const validateConfig: ValidateFunction = withDefaults.compile(config);
addFormats(withDefaults);
export const validatePlaybooks: ValidateFunction = withDefaults.compile(playbook);
export const validateHealth: ValidateFunction = withDefaults.compile(health);

/** The rules stage's messages on cs.>, by kind (`outputKindOf` a subject). */
export const validateOutput: Record<string, ValidateFunction> = {
  alert: strict.compile(alertOut),
  health: strict.compile(healthOut),
  task: strict.compile(taskOut),
  tag: strict.compile(tagOut),
  notify: strict.compile(notifyOut),
  email: strict.compile(emailOut),
  webhook: strict.compile(webhookOut),
  'task-closed': strict.compile(taskClosedOut),
};

export const schemas = {
  common,
  trackingEvent,
  clientUpdate,
  userUpdate,
  taskUpdate,
  deadLetter,
  config,
  playbook,
  health,
};

/** One schema error, said the way a person fixing the input needs it. */
export interface SchemaIssue {
  /** JSON Pointer of the field at fault ('' for the whole document). */
  path: string;
  /** What was expected there. */
  expected: string;
  actual?: unknown;
}

/**
 * Turns ajv's errors into issues: the field at fault and what it should have been.
 * Noise that only restates another error (if/then, anyOf wrappers) is left out.
 */
export function describeErrors(
  errors: ErrorObject[] | null | undefined,
  doc?: unknown,
): SchemaIssue[] {
  if (!errors) return [];
  // The errors of each anyOf branch only restate the anyOf itself: keep the anyOf alone.
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  const kept = errors
    .filter((e) => e.keyword !== 'if' && !anyOfPaths.some((p) => e.schemaPath.startsWith(p)))
    // A field's own rule says more than a cross-field one (allOf/if/then).
    .sort(
      (a, b) =>
        Number(a.schemaPath.startsWith('#/allOf')) - Number(b.schemaPath.startsWith('#/allOf')),
    );
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  for (const e of kept) {
    const issue = describe(e, doc);
    const key = `${issue.path}|${issue.expected}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}

function describe(e: ErrorObject, doc: unknown): SchemaIssue {
  const p = e.params as Record<string, unknown>;
  const actual = doc === undefined ? undefined : pointerGet(doc, e.instancePath);
  switch (e.keyword) {
    case 'required':
      return {
        path: `${e.instancePath}/${String(p.missingProperty)}`,
        expected: 'a value (required field is missing)',
      };
    case 'additionalProperties':
      return {
        path: `${e.instancePath}/${String(p.additionalProperty)}`,
        expected: `no such field (allowed: ${allowedFields(e)})`,
      };
    case 'type':
      return {
        path: e.instancePath,
        expected: `type ${String(p.type)}, got ${typeName(actual)}`,
        actual,
      };
    case 'enum':
      return {
        path: e.instancePath,
        expected: `one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
        actual,
      };
    case 'const':
      return {
        path: e.instancePath,
        expected: `the value ${JSON.stringify(p.allowedValue)}`,
        actual,
      };
    case 'pattern':
      return { path: e.instancePath, expected: `a string matching ${String(p.pattern)}`, actual };
    case 'minLength':
    case 'maxLength':
      return {
        path: e.instancePath,
        expected: `a string of ${e.keyword === 'minLength' ? 'at least' : 'at most'} ${String(p.limit)} characters`,
        actual:
          typeof actual === 'string' && actual.length > 200 ? `${actual.slice(0, 200)}…` : actual,
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        path: e.instancePath,
        expected: `a number ${String(p.comparison)} ${String(p.limit)}`,
        actual,
      };
    case 'minItems':
    case 'maxItems':
      return {
        path: e.instancePath,
        expected: `a list of ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`,
        actual,
      };
    case 'maxProperties':
    case 'minProperties':
      return {
        path: e.instancePath,
        expected: `an object with ${e.keyword === 'maxProperties' ? 'at most' : 'at least'} ${String(p.limit)} fields`,
      };
    case 'not': {
      // `not: {const: x}`: say the value it must not be, not ajv's "must NOT be valid".
      const forbidden = (e.parentSchema as { not?: { const?: unknown } } | undefined)?.not;
      return {
        path: e.instancePath,
        expected:
          forbidden && 'const' in forbidden
            ? `a value other than ${JSON.stringify(forbidden.const)}`
            : (e.message ?? 'another value'),
        actual,
      };
    }
    case 'anyOf':
      if (e.instancePath === '' && e.schemaPath === '#/anyOf') {
        // The alternatives are "one of these keys is required": name them.
        const keys = (
          (e.parentSchema as { anyOf?: { required?: string[] }[] } | undefined)?.anyOf ?? []
        )
          .map((a) => a.required?.[0])
          .filter((k): k is string => k !== undefined);
        if (keys.length === 0 || keys.includes('attributes'))
          return {
            path: '',
            expected:
              'at least one attribute to change (status, name, plan, segment, csm, mrr or attributes)',
          };
        return { path: `/${keys[0]}`, expected: `${keys.join(' or ')} (at least one is required)` };
      }
      return { path: e.instancePath, expected: anyOfExpectation(e.instancePath), actual };
    default:
      return { path: e.instancePath, expected: e.message ?? e.keyword, actual };
  }
}

function anyOfExpectation(path: string): string {
  if (path.endsWith('/timestamp')) {
    return 'an ISO-8601 time with a zone (e.g. 2026-11-20T13:45:00Z or …-03:00) or epoch milliseconds between 2000 and 2100';
  }
  return 'a string, number, boolean or null';
}

function allowedFields(e: ErrorObject): string {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)
    ?.properties;
  return props ? Object.keys(props).join(', ') : '?';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && Number.isInteger(v)) return `integer ${v}`;
  if (typeof v === 'number') return `number ${v}`;
  return typeof v;
}

function pointerGet(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

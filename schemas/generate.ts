/**
 * TypeScript types from the JSON Schemas: the schemas are the one source of truth, and
 * `schemas/generated/` is derived from them (`npm run schemas`; a test fails when the
 * committed files are not what the schemas give).
 *
 * Two readings are applied before generating, so the types say what the validated
 * document holds rather than what a producer may omit:
 *   - documents validated with defaults (configuration, playbooks, health model): a
 *     property with a `default` is always present afterwards, so it is required;
 *   - an object that must have exactly one of its properties (min/maxProperties 1, e.g.
 *     a condition, an action) is a union of one-property objects.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { format, resolveConfig } from 'prettier';

/** Run from the repository's root (npm scripts and tests are). */
const root = join(process.cwd(), 'schemas');

type Node = Record<string, unknown>;

/** The schema as the types should read it (see above). */
function reading(schema: unknown, defaultsFill: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => reading(s, defaultsFill));
  if (schema === null || typeof schema !== 'object') return schema;
  const s: Node = {};
  for (const [k, v] of Object.entries(schema as Node))
    // `default`, `examples` and `const` are values, not schemas.
    s[k] = k === 'default' || k === 'examples' || k === 'const' ? v : reading(v, defaultsFill);
  const props = s.properties as Record<string, Node> | undefined;
  if (props && s.minProperties === 1 && s.maxProperties === 1) {
    const rest = { ...s };
    for (const k of ['properties', 'minProperties', 'maxProperties', 'required']) delete rest[k];
    return {
      ...rest,
      oneOf: Object.entries(props).map(([k, v]) => ({
        type: 'object',
        additionalProperties: false,
        required: [k],
        properties: { [k]: v },
      })),
    };
  }
  if (props && defaultsFill) {
    const required = new Set((s.required as string[] | undefined) ?? []);
    for (const [k, v] of Object.entries(props)) if (v.default !== undefined) required.add(k);
    if (required.size > 0) s.required = [...required];
  }
  return s;
}

const BANNER =
  '/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */';

const targets: { schema: string; out: string; name: string; defaultsFill: boolean }[] = [
  { schema: 'config.schema.json', out: 'config.ts', name: 'Config', defaultsFill: true },
  { schema: 'playbook.schema.json', out: 'playbook.ts', name: 'PlaybookFile', defaultsFill: true },
  { schema: 'health.schema.json', out: 'health.ts', name: 'HealthModel', defaultsFill: true },
  ...['alert', 'health', 'task', 'tag', 'notify', 'email', 'webhook', 'task-closed'].map((k) => ({
    schema: `outputs/${k}.schema.json`,
    out: `outputs/${k}.ts`,
    name: `${k
      .split('-')
      .map((w) => `${w[0]!.toUpperCase()}${w.slice(1)}`)
      .join('')}Body`,
    defaultsFill: false,
  })),
];

/** Every generated file, by its path under schemas/generated. */
export async function generateTypes(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const t of targets) {
    const schema = {
      ...(reading(JSON.parse(readFileSync(join(root, t.schema), 'utf8')), t.defaultsFill) as Node),
      // The type's name: stable, whatever the schema's human title says.
      title: t.name,
    };
    const ts = await compile(schema as JSONSchema, t.schema, {
      bannerComment: BANNER,
      // As JSON Schema reads it: open unless the schema closes it.
      additionalProperties: true,
      ignoreMinAndMaxItems: true,
      strictIndexSignatures: true,
      unreachableDefinitions: false,
      declareExternallyReferenced: true,
      cwd: join(root, dirname(t.schema)),
      format: false,
    });
    const path = join(root, 'generated', t.out);
    files.set(t.out, await format(ts, { ...(await resolveConfig(path)), filepath: path }));
  }
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, text] of await generateTypes()) {
    const path = join(root, 'generated', file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    console.log(`schemas/generated/${file}`);
  }
}

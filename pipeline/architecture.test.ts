/**
 * The lint rules that keep the architecture (eslint.config.js) fail on a deliberate
 * violation, and only there: a back-edge between layers, and I/O or a clock in operators/.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// Type-aware rules need files in the TypeScript project; these snippets are not, so those
// rules are off here (they do not judge layers or purity).
const eslint = new ESLint({
  overrideConfig: {
    languageOptions: { parserOptions: { project: null } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-misused-promises': 'off',
    },
  },
});

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('architecture lint', () => {
  it.each([
    ['operators/x.ts', "import { limitsOf } from '../pipeline/run.js';"],
    [
      'operators/playbooks/x.ts',
      "import { createTables } from '../../pipeline/adapters/questdb/tables.js';",
    ],
    ['schemas/x.ts', "import { Calendar } from '../operators/calendar.js';"],
    ['deploy/services/x.ts', "import { ConfigError } from '../../pipeline/errors.js';"],
    ['dashboards/x.ts', "import { RulesStage } from '../operators/playbooks/stage.js';"],
    ['pipeline/x.ts', "import { hostileMessages } from '../test/fixtures/hostile.js';"],
  ])('a back-edge from %s fails', async (file, importLine) => {
    const found = await problems(file, `${importLine}\nexport const used = [];\n`);
    expect(found.some((p) => p.startsWith('import-x/no-restricted-paths'))).toBe(true);
  });

  it('the same imports in the allowed direction pass', async () => {
    expect(
      await problems(
        'pipeline/x.ts',
        "import { Calendar } from '../operators/calendar.js';\nimport { ServiceError } from '../deploy/services/errors.js';\nexport const used = [Calendar, ServiceError];\n",
      ),
    ).toEqual([]);
    expect(
      await problems(
        'operators/x.ts',
        "import type { TrackingEvent } from '../schemas/types.js';\nexport const used = (e: TrackingEvent) => e.ts;\n",
      ),
    ).toEqual([]);
  });

  it.each([
    ['Date.now()', 'no-restricted-properties'],
    ['performance.now()', 'no-restricted-properties'],
    ['new Date()', 'no-restricted-syntax'],
    ['process.env.X', 'no-restricted-globals'],
    ["Buffer.from('x')", 'no-restricted-globals'],
    ['setTimeout(() => 1, 1)', 'no-restricted-globals'],
  ])('%s in operators/ fails, and passes in pipeline/', async (expr, rule) => {
    const code = `export const read = () => ${expr};\n`;
    expect((await problems('operators/x.ts', code)).some((p) => p.startsWith(rule))).toBe(true);
    expect(await problems('pipeline/x.ts', code)).toEqual([]);
  });

  it('an I/O module in operators/ fails', async () => {
    for (const mod of ['node:fs', 'nats', 'pg', '@questdb/nodejs-client']) {
      const found = await problems(
        'operators/x.ts',
        `import * as m from '${mod}';\nexport const used = m;\n`,
      );
      expect(
        found.some((p) => p.startsWith('no-restricted-imports')),
        mod,
      ).toBe(true);
    }
  });
});

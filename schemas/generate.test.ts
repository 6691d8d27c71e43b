/** The types in schemas/generated are what the schemas give: one source of truth. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateTypes } from './generate.js';

describe('generated types', () => {
  it('schemas/generated is what the schemas generate (run `npm run schemas`)', async () => {
    const files = await generateTypes();
    expect(files.size).toBe(11);
    for (const [file, text] of files)
      expect(readFileSync(`schemas/generated/${file}`, 'utf8'), file).toBe(text);
  });

  it('a property with a default is required after validation; exactly-one objects are unions', async () => {
    const files = await generateTypes();
    const config = files.get('config.ts')!;
    expect(config).toMatch(/\n {4}batchSize: number;/); // has a default: always present
    expect(config).toMatch(/\n {4}dir\?: string;/); // checkpoint.dir: no default
    const playbook = files.get('playbook.ts')!;
    expect(playbook).toMatch(/\| \{\s+(\/\*\*[\s\S]*?\*\/\s+)?count: \{/);
  });
});

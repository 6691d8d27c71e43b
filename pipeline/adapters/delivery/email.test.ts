import { describe, expect, it } from 'vitest';
import { isSingleAddress } from './email.js';

describe('the recipient of an e-mail', () => {
  it('is one plain address; a list, a display name or header tricks are refused', () => {
    expect(isSingleAddress('ti@acme.com.br')).toBe(true);
    expect(isSingleAddress('contato+cs@empresa-7.example')).toBe(true);
    for (const to of [
      'a@x.example, b@y.example',
      'a@x.example;b@y.example',
      'Ana <ana@x.example>',
      'ana@x.example\r\nBcc: all@y.example',
      'no-at-sign',
      'ana@localhost',
      `${'a'.repeat(250)}@x.example`,
    ])
      expect(isSingleAddress(to), to).toBe(false);
  });
});

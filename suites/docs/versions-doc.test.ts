// docs/versions.md is generated from the profile tables: it must match what the generator
// produces now, so the document cannot go stale.

import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { docComments, generateVersionsDoc, REGENERATE_COMMAND, VERSIONS_DOC } from '../../harness/docs/versions-doc.ts';
import { KERNEL_PROFILES } from '../../reference/profiles/kernel.ts';
import { QEMU_PROFILES } from '../../reference/profiles/qemu.ts';
import { SEABIOS_PROFILES } from '../../reference/profiles/seabios.ts';

describe('docs/versions.md', () => {
  test('is what the generator produces from the profiles now', () => {
    const expected = generateVersionsDoc();
    const actual = existsSync(VERSIONS_DOC) ? readFileSync(VERSIONS_DOC, 'utf8') : '(missing)';
    if (actual !== expected) {
      const a = actual.split('\n');
      const e = expected.split('\n');
      let i = 0;
      while (i < a.length && a[i] === e[i]) i++;
      expect.fail(
        `docs/versions.md is stale (the profile tables or the generator changed): run \`${REGENERATE_COMMAND}\` and commit the result.\n` +
          `first difference at line ${i + 1}:\n  committed: ${a[i] ?? '(end of file)'}\n  generated: ${e[i] ?? '(end of file)'}`,
      );
    }
  });

  test('has a row for every profile field and a column for every version', () => {
    const doc = generateVersionsDoc();
    for (const profiles of [QEMU_PROFILES, SEABIOS_PROFILES, KERNEL_PROFILES] as const) {
      const versions = Object.keys(profiles);
      expect(doc).toContain(`| field | ${versions.join(' | ')} | what it is |`);
      for (const p of Object.values(profiles)) {
        for (const field of Object.keys(p)) {
          if (field === 'version' || field === 'machineTypes') continue;
          expect(doc, field).toMatch(new RegExp(`\\| \`${field}[.\\[\`]`));
        }
      }
    }
    expect(doc).toContain('## Machine types registered per QEMU version');
    expect(doc).toMatch(/\| `amdHtHole` \| no \| \*\*yes\*\* \|/);
  });

  test('doc comments are read from the source, pairs documented once share it', () => {
    const src = [
      'export interface P {',
      '  /** One. */',
      '  oneThing: number;',
      '  /**',
      '   * Two, over',
      '   * two lines.',
      '   */',
      '  pairPrefix: string;',
      '  pairLevel: number;',
      '  other: boolean;',
      '}',
    ].join('\n');
    const docs = docComments(src, 'export interface P {');
    expect(docs.get('oneThing')).toBe('One.');
    expect(docs.get('pairPrefix')).toBe('Two, over two lines.');
    expect(docs.get('pairLevel')).toBe('Two, over two lines.');
    expect(docs.has('other')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { LogParseError } from '../../harness/parse/errors.ts';
import { sectionBody, splitSections } from '../../harness/parse/sections.ts';
import { section, serialLog } from './samples.ts';

function parseError(fn: () => unknown): LogParseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LogParseError) return e;
    throw e;
  }
  throw new Error('expected a LogParseError');
}

describe('splitSections', () => {
  it('splits a CRLF log with console noise before, between and after the sections', () => {
    const s = splitSections(serialLog());
    expect(s.preambleLines).toBe(3);
    expect(s.sections.uname?.body.map((l) => l.text)).toEqual(['6.1.0-50-cloud-amd64']);
    expect(s.sections.uname?.beginLine).toBe(4);
    expect(s.sections.uname?.body[0]?.no).toBe(5);
    expect(s.sections.memmap?.body).toHaveLength(7);
    expect(s.sections.memmap?.rc).toBe(0);
    expect(s.warnings).toEqual([]);
  });

  it('reports a cut log (no DONE) naming the last line', () => {
    const full = serialLog();
    const cut = full.slice(0, full.indexOf('==E820== DONE'));
    const e = parseError(() => splitSections(cut));
    expect(e.problem).toMatch(/no "==E820== DONE" marker/);
    expect(e.line).toBe(cut.split('\r\n').length - 1);
  });

  it('reports a log cut inside a section', () => {
    const full = serialLog();
    const cut = full.slice(0, full.indexOf('==E820== END iomem'));
    const e = parseError(() => splitSections(cut));
    expect(e.problem).toMatch(/log ends inside section "iomem" begun at line \d+/);
    expect(e.message).toMatch(/serial log, line \d+:/);
  });

  it('reports a section begun but not ended', () => {
    const log = serialLog().replace('==E820== END uname rc=0\r\n', '');
    const e = parseError(() => splitSections(log));
    expect(e.problem).toMatch(/section "uname" begun at line 4 was never ended/);
    expect(e.text).toBe('==E820== BEGIN cmdline');
  });

  it('reports duplicate sections', () => {
    const log = serialLog().replace('==E820== DONE', `${section('uname', 'again').replace(/\n/g, '\r\n')}==E820== DONE`);
    const e = parseError(() => splitSections(log));
    expect(e.problem).toMatch(/duplicate section "uname" \(first at line 4\)/);
  });

  it('reports an END without BEGIN and an unknown section', () => {
    expect(parseError(() => splitSections(serialLog().replace('==E820== BEGIN iomem', 'BEGIN iomem'))).problem).toMatch(/END of section "iomem" without a BEGIN/);
    expect(parseError(() => splitSections(serialLog().replace('==E820== BEGIN iomem', '==E820== BEGIN iomemx'))).problem).toMatch(/unknown section "iomemx"/);
  });

  it('reports missing sections', () => {
    const log = serialLog().replace(/==E820== BEGIN memmap[\s\S]*?==E820== END memmap rc=0\r\n/, '');
    expect(parseError(() => splitSections(log)).problem).toBe('section(s) missing: memmap');
  });

  it('returns the reason of an unavailable section', () => {
    const s = splitSections(serialLog({ 'fwcfg-e820': 'unavailable: no fw_cfg device (old machine type)' }));
    expect(s.sections['fwcfg-e820']?.unavailable).toBe('no fw_cfg device (old machine type)');
    const body = sectionBody(s.sections['fwcfg-e820']!);
    expect(body).toEqual({ unavailable: 'no fw_cfg device (old machine type)' });
  });

  it('rejects an unavailable line mixed with data', () => {
    const e = parseError(() => splitSections(serialLog({ memmap: '0 0x0 0x9fbff System RAM\nunavailable: half' })));
    expect(e.problem).toMatch(/alongside 1 other line/);
  });

  it('keeps a non-zero rc and refuses the body when it is used', () => {
    const log = serialLog().replace('==E820== END iomem rc=0', '==E820== END iomem rc=1');
    const s = splitSections(log);
    expect(s.sections.iomem?.rc).toBe(1);
    const e = parseError(() => sectionBody(s.sections.iomem!));
    expect(e.problem).toMatch(/failed with exit status 1/);
    expect(e.line).toBe(s.sections.iomem?.endLine);
  });

  it('names the line of garbage inside a section (NUL, binary, replacement char)', () => {
    for (const junk of ['\u0000\u0000\u0000', 'ab\u00ffcd\u0003', '\ufffd\ufffd']) {
      const log = serialLog({ iomem: `00000000-00000fff : Reserved\n${junk}\n00001000-0009fbff : System RAM` });
      const e = parseError(() => splitSections(log));
      const lineNo = log.split('\r\n').findIndex((l) => l === junk) + 1;
      expect(e.line).toBe(lineNo);
      expect(e.message).toContain(`line ${lineNo}`);
      expect(e.message).toMatch(/column/);
    }
  });

  it('survives random bytes anywhere: either parses or throws a LogParseError, never anything else', () => {
    const base = serialLog();
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let k = 0; k < 300; k++) {
      const at = Math.floor(rand() * base.length);
      const junk = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => String.fromCharCode(Math.floor(rand() * 256))).join('');
      const log = base.slice(0, at) + junk + base.slice(at);
      try {
        splitSections(log);
      } catch (e) {
        expect(e).toBeInstanceOf(LogParseError);
        expect((e as LogParseError).line).toBeGreaterThan(0);
      }
    }
  });

  it('warns about (and keeps going past) noise outside sections', () => {
    const log = '\u0000\u0000garbage\r\n' + serialLog();
    const s = splitSections(log);
    expect(s.warnings[0]).toMatch(/serial line 1: a NUL byte outside any section/);
  });

  it('removes whole kernel console lines interleaved into a body, with a warning', () => {
    const log = serialLog({ memmap: '0 0x0 0x9fbff System RAM\n[    2.712345] random: crng init done\n1 0x9fc00 0x9ffff Reserved' });
    const s = splitSections(log);
    expect(s.sections.memmap?.body.map((l) => l.text)).toEqual(['0 0x0 0x9fbff System RAM', '1 0x9fc00 0x9ffff Reserved']);
    expect(s.warnings[0]).toMatch(/kernel console message inside section "memmap" removed/);
  });

  it('rejects a marker glued to other output and a malformed marker', () => {
    expect(parseError(() => splitSections(serialLog().replace('==E820== BEGIN iomem', 'xx==E820== BEGIN iomem'))).problem).toMatch(/not at the start/);
    expect(parseError(() => splitSections(serialLog().replace('==E820== END iomem rc=0', '==E820== END iomem rc=x'))).problem).toMatch(/exit status "x"/);
    expect(parseError(() => splitSections(serialLog().replace('==E820== DONE', '==E820== DON'))).problem).toMatch(/malformed framing marker/);
  });

  it('rejects an empty log and a log without markers', () => {
    expect(parseError(() => splitSections('')).problem).toMatch(/empty/);
    expect(parseError(() => splitSections('[    0.1] Kernel panic - not syncing: VFS\r\n')).problem).toMatch(/no section markers/);
  });
});

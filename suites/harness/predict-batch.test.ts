// `e820 predict --batch`: one process, JSON lines in and out, and each output line is what a single
// `e820 predict --json` (or its error) says about the same command line.

import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { predictBatch } from '../../harness/cli/predict-batch.ts';
import { predictCommand } from '../../harness/cli/commands/predict.ts';
import type { HostFactsSources } from '../../harness/host-facts.ts';

const AMD_HOST: HostFactsSources = {
  readCpuinfo: () => 'vendor_id\t: AuthenticAMD\nflags\t\t: fpu lm\naddress sizes\t: 48 bits physical, 48 bits virtual\n',
  cpuidPhysBits: () => 48,
};

const SAMPLE: Array<{ argv: string[]; qemu?: string; seabios?: string; kernel?: string }> = [
  { argv: ['-M', 'pc', '-m', '1G'] },
  { argv: ['-M', 'q35', '-m', '6G', '-smp', '8,sockets=8'] },
  { argv: ['-M', 'pc', '-m', '4G', '-append', 'memmap=1M$0x30000000 mem=3G'] },
  { argv: ['-M', 'q35', '-m', '2G', '-nodefaults', '-no-acpi'], qemu: '5.2', seabios: '1.14.0', kernel: '5.10' },
  { argv: ['-S', '-M', 'pc,usb=off', '-m', '1G', '-chardev', 'null,id=c0', '-object', '{"qom-type":"secret","id":"s","data":"x"}'], qemu: '11.1', seabios: '1.17.0', kernel: '7.2' },
  { argv: ['-M', 'pc', '-m', '2G', '-accel', 'kvm'] },
  { argv: ['-M', 'pc', '-no-acpi'], qemu: '10.0' },
  { argv: ['-m', 'banana'] },
  { argv: ['-M', 'pc', '-m', '8G', '-cpu', 'qemu64,phys-bits=33'], qemu: '11.1' },
  { argv: ['-M', 'pc', '-device', 'lsi'] },
  { argv: ['-M', 'pc', '-acpitable', 'sig=SLIC'] },
];

async function batch(text: string): Promise<{ lines: Array<Record<string, unknown>>; counts: Record<string, number> }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const summary = await predictBatch(Readable.from([text]), out, {}, {}, AMD_HOST);
  out.end();
  const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, counts: summary.counts };
}

describe('predict --batch', () => {
  it('agrees line for line with single `predict --json` calls', async () => {
    const { lines, counts } = await batch(SAMPLE.map((s) => JSON.stringify(s)).join('\n'));
    expect(lines).toHaveLength(SAMPLE.length);
    expect(counts).toEqual({ boots: 6, refuses: 3, 'not-modelled': 2, 'bad-input': 0 });
    SAMPLE.forEach((s, i) => {
      const single = predictCommand(s.argv, { json: true, ...(s.qemu ? { qemu: s.qemu } : {}), ...(s.seabios ? { seabios: s.seabios } : {}), ...(s.kernel ? { kernel: s.kernel } : {}) }, AMD_HOST);
      const { line, kind, ...rest } = lines[i]!;
      expect(line).toBe(i + 1);
      if (kind === 'boots') {
        expect(single.code).toBe(0);
        expect(rest).toEqual(JSON.parse(single.stdout));
      } else {
        expect(single.code).toBe(2);
        expect(single.stderr).toBe(`e820 predict: ${rest.message as string}\n`);
      }
    });
  });

  it('names what is wrong with a bad line, answers the good ones around it, and skips blank lines', async () => {
    const { lines, counts } = await batch(['{"argv":["-M","pc"]}', '', 'not json', '{"argv":"-M pc"}', '{"argv":[],"qemu":"9.9"}', '[1]', '{"argv":[],"kernel":6}'].join('\n'));
    expect(lines.map((l) => [l.line, l.kind])).toEqual([[1, 'boots'], [3, 'bad-input'], [4, 'bad-input'], [5, 'bad-input'], [6, 'bad-input'], [7, 'bad-input']]);
    expect(lines[1]!.error).toMatch(/^not JSON/);
    expect(lines[2]!.error).toBe('"argv" must be an array of strings');
    expect(lines[3]!.error).toMatch(/unknown qemu version "9.9"/);
    expect(lines[4]!.error).toMatch(/JSON object/);
    expect(lines[5]!.error).toBe('"kernel" must be a version string');
    expect(counts['bad-input']).toBe(5);
  });
});

describe('predict --batch answers as the input comes', () => {
  it('a caller that writes one line and waits gets its answer before writing the next (output is gathered, then flushed when the input pauses)', async () => {
    const input = new PassThrough();
    const out = new PassThrough();
    const answers: string[] = [];
    let waiting: ((line: string) => void) | null = null;
    let buf = '';
    out.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        answers.push(line);
        waiting?.(line);
      }
    });
    const next = () => new Promise<string>((resolve) => (waiting = resolve));
    const done = predictBatch(input, out, {}, {}, AMD_HOST);
    for (const [i, s] of SAMPLE.slice(0, 3).entries()) {
      const answer = next();
      input.write(`${JSON.stringify(s)}\n`);
      expect(JSON.parse(await answer)).toMatchObject({ line: i + 1, kind: 'boots' });
    }
    input.end();
    expect((await done).lines).toBe(3);
    expect(answers).toHaveLength(3);
  });
});

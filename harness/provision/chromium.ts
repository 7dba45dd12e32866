// Debian's Chromium, for the tests and measurements that open a report in a real browser
// (suites/report/browser.test.ts, ci/bench-report.ts), driven by playwright-core with its
// executable path. Found at /usr/bin/chromium (or $E820_CHROMIUM); when it is missing and we are
// root, Debian's `chromium` package is installed through the machine's own apt configuration, as
// the host tools are (host-tools.ts aptInstall), so a fresh machine needs nothing by hand and the
// next run finds it installed.

import { aptInstall, aptInstallCommand } from './host-tools.ts';
import { ProvisionError } from './errors.ts';
import { localHost } from '../host/local.ts';
import type { Host } from '../host/types.ts';

export const CHROMIUM_PACKAGE = 'chromium';
/** Where Debian's package puts its launcher (a script that runs /usr/lib/chromium/chromium). */
export const CHROMIUM_BINARY = '/usr/bin/chromium';
export const CHROMIUM_ENV = 'E820_CHROMIUM';

export class ChromiumMissingError extends ProvisionError {
  constructor(what: string, reason: string) {
    super(`${what}. ${reason} Install Debian's ${CHROMIUM_PACKAGE} package as root:\n  ${aptInstallCommand([CHROMIUM_PACKAGE])}\nor point ${CHROMIUM_ENV} at a Chromium executable.`);
    this.name = 'ChromiumMissingError';
  }
}

export interface Chromium {
  executable: string;
  /** `chromium --version`, e.g. "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)". */
  version: string;
}

export interface ChromiumOptions {
  /** Install the package when missing and root. Default true. */
  install?: boolean;
  onProgress?: (message: string) => void;
  /** The machine to provision (default: this one). */
  host?: Host;
  env?: NodeJS.ProcessEnv;
}

/** The Chromium to drive: $E820_CHROMIUM as given (never installed over), else Debian's, installed if missing. */
export async function findOrInstallChromium(opts: ChromiumOptions = {}): Promise<Chromium> {
  const sys = opts.host ?? localHost;
  const env = opts.env ?? process.env;
  const progress = opts.onProgress ?? (() => {});
  const given = env[CHROMIUM_ENV];
  const executable = given !== undefined && given !== '' ? given : CHROMIUM_BINARY;
  if (!(await sys.exists(executable))) {
    if (executable !== CHROMIUM_BINARY) throw new ChromiumMissingError(`${CHROMIUM_ENV}=${executable} does not exist`, 'A path given explicitly is not usable.');
    if (opts.install === false) throw new ChromiumMissingError(`${CHROMIUM_BINARY} does not exist`, 'Installing was disabled.');
    if (!(await sys.isRoot())) throw new ChromiumMissingError(`${CHROMIUM_BINARY} does not exist`, 'Not running as root, so it cannot be installed automatically.');
    await aptInstall([CHROMIUM_PACKAGE], sys, progress);
    if (!(await sys.exists(executable))) throw new ChromiumMissingError(`${CHROMIUM_BINARY} does not exist`, `It is still missing after installing ${CHROMIUM_PACKAGE}.`);
  }
  const v = await sys.exec([executable, '--version']);
  const version = (v.stdout.split('\n')[0] ?? '').trim();
  if (v.exitCode !== 0 || !/chrom/i.test(version)) {
    throw new ChromiumMissingError(`${executable} --version failed (exit ${v.exitCode}: ${(v.stdout + v.stderr).trim().slice(0, 200)})`, 'It is not a working Chromium.');
  }
  progress(`chromium: ${executable} (${version})`);
  return { executable, version };
}

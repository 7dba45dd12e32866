// Typed provisioning errors. Each message says what to do, and carries the fields a caller
// (CLI, CI) needs to act on it without parsing the text.

export class ProvisionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** Host tools are missing (or unusable) and we may not install them ourselves. */
export class HostToolsMissingError extends ProvisionError {
  constructor(
    /** What is missing, e.g. "qemu-system-x86_64 (not on PATH)". */
    readonly missing: readonly string[],
    /** Debian packages that provide them. */
    readonly packages: readonly string[],
    /** The exact command that installs them. */
    readonly command: string,
    reason: string,
  ) {
    super(
      `missing host tools: ${missing.join('; ')}. ${reason} ` +
        `Install the Debian packages ${packages.join(', ')} as root:\n  ${command}\n` +
        `or point at existing ones (qemu, seabiosDir, busybox options).`,
    );
    this.name = 'HostToolsMissingError';
  }
}

/** An apt/dpkg command failed. */
export class AptError extends ProvisionError {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
    hint: string,
  ) {
    const tail = stderr.trim().split('\n').slice(-5).join('\n  ');
    super(`${command} failed (exit ${exitCode ?? 'signal'}): ${hint}${tail ? `\n  ${tail}` : ''}`);
    this.name = 'AptError';
  }
}

/** apt knows no package by this name (even after apt-get update, where that was possible). */
export class KernelPackageNotFoundError extends ProvisionError {
  constructor(
    readonly packageName: string,
    hint: string,
  ) {
    super(`kernel package ${JSON.stringify(packageName)} not found through apt: ${hint}`);
    this.name = 'KernelPackageNotFoundError';
  }
}

/** The kernel package (or a user-given kernel) does not have what the guest needs. */
export class KernelContentError extends ProvisionError {
  constructor(
    readonly source: string,
    reason: string,
  ) {
    super(`${source}: ${reason}`);
    this.name = 'KernelContentError';
  }
}

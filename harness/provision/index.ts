// Public API of provisioning: host tools, guest kernels, and the cache they live in.

export { cacheDir } from './cache.ts';
export {
  aptInstallCommand,
  DEFAULT_SEABIOS_DIR,
  findOrInstallHostTools,
  HOST_PACKAGES,
  parseQemuVersion,
  SEABIOS_IMAGES,
  type HostTools,
  type HostToolsOptions,
} from './host-tools.ts';
export {
  bzImageRelease,
  DEFAULT_KERNEL_PACKAGE,
  provisionKernel,
  type KernelSpec,
  type ProvisionedKernel,
  type ProvisionKernelOptions,
} from './kernel.ts';
export { AptError, HostToolsMissingError, KernelContentError, KernelPackageNotFoundError, ProvisionError } from './errors.ts';
export { elfLinkage, type ElfLinkage } from './elf.ts';
export {
  debianArchiveUri,
  DEBIAN_SUITES,
  ensureAptLists,
  HOST_SUITE,
  hostApt,
  MIRROR_ENV,
  parseDeb822Sources,
  parseOneLineSources,
  privateApt,
  readHostAptSources,
  type AptContext,
  type AptSourceEntry,
  type DebianSuite,
} from './apt-env.ts';
export { cachedSuiteQemu, provisionSuiteQemu, QEMU_PACKAGE, type SuiteQemu, type SuiteQemuOptions } from './suite-qemu.ts';
export { cachedSuiteSeabios, provisionSeabios, SEABIOS_PACKAGE, type SuiteSeabios } from './seabios.ts';
export {
  resolveToolchain,
  SUITE_COMPONENTS,
  suiteOf,
  ToolchainVersionMismatchError,
  versionMatches,
  type Component,
  type ResolvedToolchain,
  type ResolveToolchainOptions,
} from './toolchain.ts';

// Command lines QEMU 7.2 refuses, with QEMU's words (the line after `qemu-system-x86_64: `), each
// verified with `qemu-system-x86_64 -display none -S -nodefaults <args>` on 7.2.22. Shared by the
// parser's tests (suites/reference/cmdline.test.ts) and the real-binary check of every refusal
// claim (suites/harness/refusals-real.test.ts), which runs them on every modelled release.

/** -m: qemu_strtosz and set_memory_options (softmmu/vl.c, hw/core/machine.c). */
export const MEMORY_REFUSALS_7_2: [argv: string[], qemuMessage: string][] = [
  [['-m', 'banana'], "-m banana: Parameter 'size' expects a non-negative number below 2^64"],
  [['-m', '1000.5'], "-m 1000.5: Parameter 'size' expects a non-negative number below 2^64"],
  [['-m', '-1'], "-m -1: Parameter 'size' expects a non-negative number below 2^64"],
  [['-m', '1G,,x'], "-m 1G,,x: Parameter 'size' expects a non-negative number below 2^64"],
  [['-m', '16E'], "-m 16E: Value '16E' is out of range for parameter 'size'"],
  [['-m', '2G,foo=1'], "-m 2G,foo=1: Invalid parameter 'foo'"],
  [['-m', '1G,slots=banana'], "-m 1G,slots=banana: Parameter 'slots' expects a number"],
  [['-m', '1G,maxmem=banana'], "-m 1G,maxmem=banana: Parameter 'maxmem' expects a non-negative number below 2^64"],
  [['-m', '1G,slots=2'], 'slots specified but no max-size'],
  [['-m', '2G,maxmem=1G'], 'invalid value of maxmem: maximum memory size (0x40000000) must be at least the initial memory size (0x80000000)'],
  [['-m', '1G,slots=2,maxmem=1G'], 'invalid value of maxmem: memory slots were specified but maximum memory size (0x40000000) is equal to the initial memory size (0x40000000)'],
  [['-m', '10M,maxmem=10000001'], 'invalid value of maxmem: maximum memory size (0x989681) must be at least the initial memory size (0xa00000)'],
  [['-m', 'maxmem=100M'], 'invalid value of maxmem: maximum memory size (0x6400000) must be at least the initial memory size (0x8000000)'],
  [['-m=1G'], '-m=1G: invalid option'],
  [['-m'], '-m: requires an argument'],
];

/** -machine: the machine type and its properties. */
export const MACHINE_REFUSALS_7_2: [argv: string[], qemuMessage: string][] = [
  [['-M', 'pc,max-ram-below-4g=5G'], "Machine option 'max-ram-below-4g=5368709120' expects size less than or equal to 4G"],
  [['-M', 'pc,max-ram-below-4g=banana'], "Parameter 'max-ram-below-4g' expects size"],
  [['-M', 'pc,max-ram-below-4g=1000.5'], "Parameter 'max-ram-below-4g' expects size"],
  [['-M', 'pc,foo=bar'], "Property 'pc-i440fx-7.2-machine.foo' not found"],
  [['-M', 'pc-q35-7.2,foo=1'], "Property 'pc-q35-7.2-machine.foo' not found"],
  [['-M', 'microvm,foo=1'], "Property 'microvm-machine.foo' not found"],
  [['-M', 'microvm,max-ram-below-4g=1G'], "Property 'microvm-machine.max-ram-below-4g' not found"],
  [['-M', 'nosuch'], 'unsupported machine type'],
  [['-M', 'pc,accel=banana'], 'invalid accelerator banana'],
];

/** -numa and memory backends (-object memory-backend-*). */
export const NUMA_BACKEND_REFUSALS_7_2: [argv: string[], qemuMessage: string][] = [
  [['-numa', 'foo'], "-numa foo: Parameter 'type' does not accept value 'foo'"],
  [['-numa', 'node,mem=banana'], "-numa node,mem=banana: Parameter 'mem' expects a size value"],
  [['-numa', 'node,mem=1.5'], "-numa node,mem=1.5: Parameter 'mem' expects a size value"],
  [['-numa', 'node,foo=1'], "-numa node,foo=1: Invalid parameter 'foo'"],
  [['-numa', 'node,cpus=banana'], "-numa node,cpus=banana: Parameter 'cpus' expects a uint64 value or range"],
  [['-numa', 'node,nodeid=banana'], "-numa node,nodeid=banana: Parameter 'nodeid' expects a uint64 value"],
  [['-object', 'memory-backend-ram,id=m0,size=1G', '-numa', 'node,memdev=m1'], '-numa node,memdev=m1: memdev=m1 is ambiguous'],
  [['-object', 'memory-backend-ram,id=m0,size=1G', '-numa', 'node,memdev=m0,mem=1G'], '-numa node,memdev=m0,mem=1G: numa configuration should use either mem= or memdev=,mixing both is not allowed'],
  [['-object', 'memory-backend-ram,id=m0'], "-object memory-backend-ram,id=m0: Parameter 'size' is missing"],
  [['-object', 'memory-backend-ram,size=1G'], "-object memory-backend-ram,size=1G: Parameter 'id' is missing"],
  [['-object', 'memory-backend-ram,id=m0,size=banana'], "-object memory-backend-ram,id=m0,size=banana: Parameter 'size' expects a size value"],
  [['-object', 'memory-backend-ram,id=m0,size=0'], "property 'size' of memory-backend-ram doesn't take value '0'"],
  [['-object', 'memory-backend-ram,id=m0,size=1G,foo=1'], "-object memory-backend-ram,id=m0,size=1G,foo=1: Invalid parameter 'foo'"],
  [['-object', 'memory-backend-file,id=m0,size=1G'], "-object memory-backend-file,id=m0,size=1G: Parameter 'mem-path' is missing"],
  [['-object', 'memory-backend-ram,id=m0,size=1G', '-object', 'memory-backend-ram,id=m0,size=1G'], "-object memory-backend-ram,id=m0,size=1G: Duplicate ID 'm0' for object"],
];

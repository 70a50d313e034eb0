/**
 * Docker's default confinement for a build container: the default capability set, masked and
 * read-only /proc and /sys paths, and a seccomp profile. The profile is a denylist (default allow) of
 * the syscalls docker's allowlist leaves out for a container without extra capabilities; they fail
 * with EPERM. clone3 fails with ENOSYS so that libc falls back to clone, whose namespace flags are
 * refused, like docker.
 */

export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/** Denied with EPERM. Names libseccomp does not know on this architecture are skipped by runc. */
const DENIED_SYSCALLS: readonly string[] = [
  'acct',
  'add_key',
  'bpf',
  'clock_adjtime',
  'clock_settime',
  'create_module',
  'delete_module',
  'finit_module',
  'fsconfig',
  'fsmount',
  'fsopen',
  'fspick',
  'get_kernel_syms',
  'init_module',
  'ioperm',
  'iopl',
  'kcmp',
  'kexec_file_load',
  'kexec_load',
  'keyctl',
  'lookup_dcookie',
  'mount',
  'mount_setattr',
  'move_mount',
  'name_to_handle_at',
  'nfsservctl',
  'open_by_handle_at',
  'open_tree',
  'perf_event_open',
  'pivot_root',
  'process_vm_readv',
  'process_vm_writev',
  'ptrace',
  'query_module',
  'quotactl',
  'reboot',
  'request_key',
  'setns',
  'settimeofday',
  'stime',
  'swapoff',
  'swapon',
  'syslog',
  '_sysctl',
  'umount',
  'umount2',
  'unshare',
  'uselib',
  'userfaultfd',
  'ustat',
  'vhangup',
];

const EPERM = 1;
const ENOSYS = 38;

/** The namespace flags of clone(2): NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
const CLONE_NAMESPACE_FLAGS = [0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000];

/** personality(2) flags that weaken the address space: ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC. */
const PERSONALITY_FLAGS = [0x0040000, 0x0400000];

interface SeccompArg {
  index: number;
  value: number;
  valueTwo: number;
  op: 'SCMP_CMP_MASKED_EQ';
}

interface SeccompSyscall {
  names: string[];
  action: 'SCMP_ACT_ERRNO';
  errnoRet: number;
  args?: SeccompArg[];
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ALLOW';
  architectures: string[];
  syscalls: SeccompSyscall[];
}

function architectures(arch: string): string[] {
  if (arch === 'x64') return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
  if (arch === 'arm64') return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
  return [];
}

/** One rule per flag: a single masked comparison each, so the rules are ORed. */
function flagRules(name: string, flags: readonly number[]): SeccompSyscall[] {
  return flags.map((flag) => ({
    names: [name],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: EPERM,
    args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
  }));
}

/** The default seccomp profile for `arch` (Node's `process.arch`). */
export function defaultSeccompProfile(arch: string = process.arch): SeccompProfile {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: architectures(arch),
    syscalls: [
      { names: [...DENIED_SYSCALLS], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
      ...flagRules('clone', CLONE_NAMESPACE_FLAGS),
      ...flagRules('personality', PERSONALITY_FLAGS),
    ],
  };
}

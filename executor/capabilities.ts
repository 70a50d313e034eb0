/**
 * `--cap-add` / `--cap-drop` as docker applies them: names with or without `CAP_`, in any case, `ALL`
 * for every capability this kernel has (/proc/sys/kernel/cap_last_cap); an unknown name is refused by
 * name. The set goes to the bounding, effective and permitted sets (not ambient, as docker: a non-root
 * user's process keeps none of them across its execve). A capability that docker's seccomp profile ties
 * to syscalls (CAP_SYS_ADMIN → mount, unshare …) gets them back from our denylist, as docker's does.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../core/index.js';
import { DEFAULT_CAPABILITIES } from './security.js';
import type { SeccompProfile } from './security.js';

/** Linux's capabilities by number (capability.h). */
const CAPABILITY_NAMES: readonly string[] = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
].map((name) => `CAP_${name}`);

let kernelCaps: readonly string[] | undefined;

/** Every capability this kernel knows (up to cap_last_cap), `CAP_` names in number order. */
export function allCapabilities(): readonly string[] {
  if (kernelCaps === undefined) {
    let last = CAPABILITY_NAMES.length - 1;
    try {
      last = Math.min(last, Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim()));
    } catch {
      // No /proc (not Linux?): the names we know.
    }
    kernelCaps = CAPABILITY_NAMES.slice(0, last + 1);
  }
  return kernelCaps;
}

/** `net_admin`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `ALL` stays; a name this kernel lacks is refused. */
export function normalizeCapability(raw: string, flag: string): string {
  const known = allCapabilities();
  const upper = raw.trim().toUpperCase();
  if (upper === 'ALL') return upper;
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!known.includes(name))
    throw new InvalidArgumentError(`${flag}: unknown capability ${JSON.stringify(raw)}`, {
      hint: `this kernel's capabilities are ${known.map((c) => c.slice(4)).join(', ')} (or ALL)`,
    });
  return name;
}

function normalize(names: readonly string[], flag: string): string[] {
  return names.map((raw) => normalizeCapability(raw, flag));
}

/** The process's capability set: docker's defaults with `capDrop` dropped and `capAdd` added. */
export function capabilitySet(capAdd: readonly string[] = [], capDrop: readonly string[] = []): string[] {
  if (capAdd.length === 0 && capDrop.length === 0) return [...DEFAULT_CAPABILITIES];
  const add = normalize(capAdd, '--cap-add');
  const drop = normalize(capDrop, '--cap-drop');
  let caps: string[];
  if (add.includes('ALL')) caps = allCapabilities().filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps)];
}

/** The syscalls docker's seccomp profile allows only with a capability (of those our denylist has). */
const SYSCALLS_BY_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_SYS_ADMIN: [
    'bpf',
    'clone',
    'clone3',
    'fsconfig',
    'fsmount',
    'fsopen',
    'fspick',
    'lookup_dcookie',
    'mount',
    'mount_setattr',
    'move_mount',
    'name_to_handle_at',
    'open_tree',
    'perf_event_open',
    'quotactl',
    'setns',
    'syslog',
    'umount',
    'umount2',
    'unshare',
  ],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_MODULE: ['delete_module', 'init_module', 'finit_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_adjtime'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

/** `profile` with the denials lifted that `caps` allow in docker's profile (a new object). */
export function seccompForCapabilities(profile: SeccompProfile, caps: readonly string[]): SeccompProfile {
  const allowed = new Set(caps.flatMap((c) => SYSCALLS_BY_CAPABILITY[c] ?? []));
  if (allowed.size === 0) return profile;
  const syscalls = profile.syscalls
    .map((rule) => ({ ...rule, names: rule.names.filter((n) => !allowed.has(n)) }))
    .filter((rule) => rule.names.length > 0);
  return { ...profile, syscalls };
}

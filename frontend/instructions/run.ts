/** RUN: command line, heredoc files, and the --mount, --network, --security and --device flags. */
import { DockerfileError } from '../../core/index.js';
import { goQuote } from '../../parser/index.js';
import { BFlags } from './bflag.js';
import type { Flag } from './bflag.js';
import { baseOf, commandLine, parseFlags } from './common.js';
import { csvFields, parseGoBool } from './goparse.js';
import { parseMount } from './mount.js';
import { withSuggestion } from './scope.js';
import type { Scope } from './scope.js';
import type { NetworkMode, RunDevice, RunInstruction, RunMount, SecurityMode } from './types.js';

export const NETWORK_MODES: readonly NetworkMode[] = ['default', 'none', 'host'];
export const SECURITY_MODES: readonly SecurityMode[] = ['insecure', 'sandbox'];

function applyDeviceField(device: { name: string; required: boolean }, field: string): void {
  const eq = field.indexOf('=');
  const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
  const value = field.slice(eq + 1);
  if (eq < 0 && key === 'required') {
    device.required = true;
  } else if (eq >= 0 && key === 'name') {
    if (device.name !== '') throw new DockerfileError(`device name already set to ${device.name}`);
    device.name = value;
  } else if (eq >= 0 && key === 'required') {
    const required = parseGoBool(value);
    if (required === undefined) throw new DockerfileError(`invalid value for ${key}: ${value}`);
    device.required = required;
  } else if (device.name === '') {
    device.name = field;
  } else if (eq < 0) {
    throw new DockerfileError(`invalid field '${field}' must be a key=value pair`);
  } else {
    const message = withSuggestion(`unexpected key '${key}' in '${field}'`, key, ['name', 'required']);
    throw new DockerfileError(message);
  }
}

/** One `--device` value (`vendor.com/class=name[,required[=bool]]`). Throws a DockerfileError. */
export function parseDevice(value: string): RunDevice {
  let fields: string[];
  try {
    fields = csvFields(value);
  } catch (error) {
    throw new DockerfileError(`failed to parse csv devices: ${(error as Error).message}`, { cause: error });
  }
  const device = { name: '', required: false };
  for (const field of fields) applyDeviceField(device, field);
  return device;
}

/** Runs `parse` on every value of a repeatable flag; a failure points at that occurrence. */
function eachValue<T>(scope: Scope, flag: Flag, parse: (value: string) => T): T[] {
  return flag.values.map((value, i) => {
    try {
      return parse(value);
    } catch (error) {
      return scope.relocate(error, scope.flagRange(flag.positions[i] ?? -1));
    }
  });
}

function isNetworkMode(value: string): value is NetworkMode {
  return (NETWORK_MODES as readonly string[]).includes(value);
}

function isSecurityMode(value: string): value is SecurityMode {
  return (SECURITY_MODES as readonly string[]).includes(value);
}

export function parseRun(scope: Scope): RunInstruction {
  const flags = new BFlags(scope.node.flags);
  const device = flags.addStrings('device');
  const mount = flags.addStrings('mount');
  const network = flags.addString('network', 'default');
  const security = flags.addString('security', 'sandbox');
  parseFlags(scope, flags);
  const cmd = commandLine(scope);
  const devices = eachValue(scope, device, parseDevice);
  const mounts: RunMount[] = eachValue(scope, mount, (value) => parseMount(value));
  if (!isNetworkMode(network.value)) {
    scope.fail(`invalid network mode ${goQuote(network.value)}`, scope.namedFlagRange('network'));
  }
  if (!isSecurityMode(security.value)) {
    scope.fail(`security ${goQuote(security.value)} is not valid`, scope.namedFlagRange('security'));
  }
  return {
    ...baseOf(scope, 'run', flags),
    ...cmd,
    mounts,
    network: network.value,
    security: security.value,
    devices,
  };
}

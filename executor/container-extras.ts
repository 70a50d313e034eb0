/**
 * What a container run asks beyond a build's RUN: cgroup limits and its own cgroup, capabilities
 * added or dropped, `--init`. Checked before anything is written; applied to the spec `buildSpec`
 * made. A request without these fields gets the spec a RUN step has always had.
 */
import { capabilitySet, seccompForCapabilities } from './capabilities.js';
import { INIT_PATH, findInit } from './init.js';
import { checkCgroupsPath, ociResources } from './resources.js';
import type { SeccompProfile } from './security.js';
import type { OciMount } from './spec.js';
import type { RunRequest } from './types.js';

export interface ContainerExtras {
  /** Mounts to add (the init binary); their destinations are mount stubs like any other. */
  readonly mounts: readonly OciMount[];
  /** Applies the rest to config.json's object, in place. */
  apply(spec: Record<string, unknown>): void;
}

interface SpecParts {
  process: { args: string[]; capabilities: Record<string, string[]> };
  linux: { resources: Record<string, unknown>; seccomp: SeccompProfile; cgroupsPath?: string };
}

/** The process's capability sets for `capAdd`/`capDrop` (docker's defaults when both are empty). */
export function processCapabilities(
  capAdd?: readonly string[],
  capDrop?: readonly string[],
): { bounding: string[]; effective: string[]; permitted: string[] } {
  const caps = capabilitySet(capAdd, capDrop);
  return { bounding: caps, effective: [...caps], permitted: [...caps] };
}

/** Checks the request's container fields and says how to apply them. */
export function containerExtras(request: RunRequest): ContainerExtras {
  const resources = ociResources(request.resources);
  const cgroupsPath = request.cgroupsPath === undefined ? undefined : checkCgroupsPath(request.cgroupsPath);
  const customCaps = (request.capAdd?.length ?? 0) + (request.capDrop?.length ?? 0) > 0;
  const capabilities = customCaps ? processCapabilities(request.capAdd, request.capDrop) : undefined;
  const init = request.init === true ? findInit() : undefined;
  const mounts: OciMount[] =
    init === undefined
      ? []
      : [{ destination: INIT_PATH, type: 'bind', source: init, options: ['bind', 'ro'] }];
  return {
    mounts,
    apply(raw) {
      const spec = raw as unknown as SpecParts;
      if (init !== undefined) spec.process.args = [INIT_PATH, '--', ...spec.process.args];
      if (capabilities !== undefined) {
        spec.process.capabilities = capabilities;
        spec.linux.seccomp = seccompForCapabilities(spec.linux.seccomp, capabilities.bounding);
      }
      Object.assign(spec.linux.resources, resources);
      if (cgroupsPath !== undefined) spec.linux.cgroupsPath = cgroupsPath;
    },
  };
}

/** inspect's Mounts (Source, Driver, Mode of each kind) and Config.Volumes, from a fixed ContainerInfo. */
import { describe, expect, it } from 'vitest';
import { inspectJson } from '../../cli/commands/container-inspect.js';
import { info } from './container-fixtures.js';

describe('inspect Mounts and Config.Volumes', () => {
  const anon = 'a'.repeat(64);
  const i = {
    ...info({
      id: '2'.repeat(64),
      spec: {
        image: 'busybox',
        mounts: [
          { type: 'bind', source: '/srv', target: '/www', readonly: true },
          { type: 'volume', source: 'named', target: '/named', readonly: false, noCopy: false },
          { type: 'volume', source: 'ro', target: '/ro', readonly: true, noCopy: false },
          { type: 'volume', source: anon, target: '/data', readonly: false, noCopy: false, anonymous: true },
          { type: 'tmpfs', target: '/run' },
        ],
      },
      volumes: ['named', 'ro', anon],
    }),
    volumeSources: {
      named: '/r/volumes/named/_data',
      ro: '/r/volumes/ro/_data',
      [anon]: `/r/volumes/${anon}/_data`,
    },
  };

  it("docker's Mounts: a volume's _data as Source, Driver local, Mode z for a named one, '' for an anonymous one", () => {
    const j = inspectJson(i);
    expect(j['Mounts']).toEqual([
      { Type: 'bind', Source: '/srv', Destination: '/www', Mode: 'ro', RW: false, Propagation: 'rprivate' },
      {
        Type: 'volume',
        Name: 'named',
        Source: '/r/volumes/named/_data',
        Destination: '/named',
        Driver: 'local',
        Mode: 'z',
        RW: true,
        Propagation: '',
      },
      {
        Type: 'volume',
        Name: 'ro',
        Source: '/r/volumes/ro/_data',
        Destination: '/ro',
        Driver: 'local',
        Mode: 'ro',
        RW: false,
        Propagation: '',
      },
      {
        Type: 'volume',
        Name: anon,
        Source: `/r/volumes/${anon}/_data`,
        Destination: '/data',
        Driver: 'local',
        Mode: '',
        RW: true,
        Propagation: '',
      },
      { Type: 'tmpfs', Source: '', Destination: '/run', Mode: '', RW: true, Propagation: '' },
    ]);
  });

  it('anonymous volumes are Config.Volumes, not HostConfig.Binds; none: null', () => {
    const j = inspectJson(i) as { Config: { Volumes: unknown }; HostConfig: { Binds: unknown } };
    expect(j.Config.Volumes).toEqual({ '/data': {} });
    expect(j.HostConfig.Binds).toEqual(['/srv:/www:ro', 'named:/named', 'ro:/ro:ro']);
    expect(
      (inspectJson(info({ id: '3'.repeat(64) })) as { Config: { Volumes: unknown } }).Config.Volumes,
    ).toBeNull();
  });

  it("a volume's Source is '' where the runner did not say", () => {
    const { volumeSources: _, ...bare } = i;
    expect((inspectJson(bare)['Mounts'] as { Source: string }[])[1]?.Source).toBe('');
  });
});

/**
 * `volume ls` output: docker's table (`DRIVER`, `VOLUME NAME`), or `--format`: `json` (one object a line,
 * as docker), or a Go template (cli/format-template.ts) of docker's volume fields (`{{.Name}}`,
 * `{{.Driver}}`, `{{.Scope}}`, `{{.Mountpoint}}`, `{{.Labels}}`, `{{.Label "k"}}`, `{{.Links}}` and
 * `{{.Size}}`, both `N/A` as docker prints them without usage data); `table …` adds docker's header row.
 */
import type { VolumeInfo } from '../../runner/index.js';
import { formatItems, labelHeader, labelMethod } from '../format-output.js';
import type { FormatFields } from '../format-output.js';

/** docker's header of each `volume ls` field (what a `table` format's header row shows). */
const VOLUME_HEADERS: FormatFields = {
  Driver: 'DRIVER',
  Labels: 'LABELS',
  Links: 'LINKS',
  Mountpoint: 'MOUNTPOINT',
  Name: 'VOLUME NAME',
  Scope: 'SCOPE',
  Size: 'SIZE',
  Label: labelHeader,
};

const DEFAULT_FORMAT = 'table {{.Driver}}\t{{.Name}}';

/** One volume as `volume ls` formats it (docker's fields, in the order its JSON has them). */
function volumeRow(v: VolumeInfo): Record<string, string> {
  return {
    Driver: v.Driver,
    Labels: Object.entries(v.Labels)
      .map(([k, val]) => `${k}=${val}`)
      .join(','),
    Links: 'N/A',
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Scope: v.Scope,
    Size: 'N/A',
  };
}

/** `volumes` as `--format` says (docker's table without one); a bad template is refused with no volume too. */
export function formatVolumes(volumes: readonly VolumeInfo[], format = 'table'): string {
  if (format === 'json') return volumes.map((v) => `${JSON.stringify(volumeRow(v))}\n`).join('');
  const items = volumes.map((v) => ({ ...volumeRow(v), Label: labelMethod(v.Labels) }));
  return formatItems(format === 'table' ? DEFAULT_FORMAT : format, items, VOLUME_HEADERS);
}

/** The `image save`, `push`, `pull` and `prune` verbs (their modules are loaded when they run). */
import type { Command } from 'commander';
import type { GlobalOptions } from './commands/engine.js';
import type { ImagePullFlags } from './commands/image-pull.js';
import type { ImagePushFlags } from './commands/image-push.js';
import type { ImageSaveFlags } from './commands/image-save.js';
import { collect, examples } from './program.js';

export function addImageExportCommands(image: Command, globals: () => GlobalOptions): void {
  image
    .command('save')
    .description(
      'Write an image as the archive `docker load` and `podman load` read (--format oci: an OCI layout tar), ' +
        'to a file or to stdout when it is not a terminal. As docker save, built layers go into a docker ' +
        'archive uncompressed (made from their snapshots as the archive is written); in an OCI archive ' +
        'they are compressed with gzip. Base layers stay as they were pulled.',
    )
    .argument('<image...>', 'image names (several names of the same image become its tags in the archive)')
    .option('-o, --output <file>', 'write to this file (whole or not at all) instead of stdout')
    .option('--format <format>', 'docker or oci', 'docker')
    .option('--progress <mode>', 'auto, tty, plain, rawjson or quiet (on stderr)', 'auto')
    .addHelpText(
      'after',
      examples([
        'tsbuild image save -o app.tar app:1',
        'tsbuild image save app:1 app:latest | podman load',
        'tsbuild image save --format oci -o app.oci.tar app:1 && skopeo inspect oci-archive:app.oci.tar',
      ]),
    )
    .action(async (names: string[], flags: ImageSaveFlags) => {
      const { imageSave } = await import('./commands/image-save.js');
      await imageSave(names, flags, globals());
    });
  image
    .command('push')
    .description(
      "Push an image to the registry its name names (credentials from docker's config.json); " +
        'layers the registry has are skipped, base layers mounted from a repository there that has them.',
    )
    .argument('<name>', 'image name, for example registry.example.com/team/app:1')
    .option('--insecure-registry <host:port>', 'talk plain http to this registry (repeatable)', collect, [])
    .option('--progress <mode>', 'auto, tty, plain, rawjson or quiet (on stderr)', 'auto')
    .addHelpText(
      'after',
      examples([
        'tsbuild image push 127.0.0.1:5000/app:1',
        'tsbuild image push --insecure-registry registry.lan:5000 registry.lan:5000/team/app:1',
      ]),
    )
    .action(async (name: string, flags: ImagePushFlags) => {
      const { imagePush } = await import('./commands/image-push.js');
      await imagePush(name, flags, globals());
    });
  image
    .command('pull')
    .description(
      "Pull an image from its registry into the store (credentials from docker's config.json): the manifest " +
        'for this platform (or --platform) and its layers; layers already unpacked are not downloaded again.',
    )
    .argument(
      '<name>',
      'NAME[:TAG|@DIGEST], for example busybox:1.36 or registry.example.com/team/app@sha256:…',
    )
    .option('--platform <os/arch[/variant]>', "pick this platform's manifest from a multi-platform image")
    .option('-q, --quiet', 'print only the image reference')
    .option('--insecure-registry <host:port>', 'talk plain http to this registry (repeatable)', collect, [])
    .option('--progress <mode>', 'auto, tty, plain, rawjson or quiet (on stderr)', 'auto')
    .addHelpText(
      'after',
      examples([
        'tsbuild image pull busybox',
        'tsbuild image pull --platform linux/arm64 127.0.0.1:5000/app:1',
        'tsbuild image pull -q 127.0.0.1:5000/app@sha256:…',
      ]),
    )
    .action(async (name: string, flags: ImagePullFlags) => {
      const { imagePull } = await import('./commands/image-pull.js');
      await imagePull(name, flags, globals());
    });
  image
    .command('prune')
    .description(
      'Remove dangling images (<none>:<none>: their last name moved to another image), then free the ' +
        'snapshots and blobs only they held. tsbuild keeps no containers, so with -a no image is in use.',
    )
    .option('-a, --all', 'remove every image, not only the dangling ones')
    .option('-f, --force', 'accepted for docker scripts: tsbuild never asks for confirmation')
    .addHelpText('after', examples(['tsbuild image prune', 'tsbuild image prune -a']))
    .action(async (flags: { all?: boolean }) => {
      const { imagePrune } = await import('./commands/image-verbs.js');
      await imagePrune(flags, globals());
    });
}

/**
 * Build checks: every rule of BuildKit's linter with its message and line (cases after BuildKit's
 * dockerfile_check_test.go), the `check` directive and BUILDKIT_DOCKERFILE_CHECK build arg, per
 * instruction `# check=` comments, experimental rules, error=true, and warnings found before an error.
 */
import { describe, expect, it } from 'vitest';
import { formatPlatform } from '../../oci/index.js';
import { parseCheckOptions, RULES } from '../../frontend/checks/index.js';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import { check, host, image, w } from './helpers/checks.js';
import type { Found } from './helpers/checks.js';

describe('build checks: stage names and casing', () => {
  it('StageNameCasing and FromAsCasing', async () => {
    const r = await check(
      '\n# warning: stage name should be lowercase\n#\nFROM scratch AS BadStageName\n\n' +
        "# warning: 'as' should match 'FROM' cmd casing.\n#\nFROM scratch as base2\n\nFROM scratch AS base3\n",
    );
    expect(r.warnings).toEqual([
      w('StageNameCasing', "Stage name 'BadStageName' should be lowercase", 4),
      w('FromAsCasing', "'as' and 'FROM' keywords' casing do not match", 8),
    ]);
    const r2 = await check('\nfrom scratch AS base\n\nfrom scratch as base2\n');
    expect(r2.warnings).toEqual([w('FromAsCasing', "'AS' and 'from' keywords' casing do not match", 2)]);
    expect((await check('FROM scratch AS base\nfrom scratch as b2\nFROM scratch AS b3\n')).warnings).toEqual([
      w(
        'ConsistentInstructionCasing',
        "Command 'from' should match the case of the command majority (uppercase)",
        2,
      ),
    ]);
  });

  it('ConsistentInstructionCasing follows the majority; self-inconsistent words always warn', async () => {
    const cases: [string, Found[]][] = [
      [
        '\n#\n#\nFrom scratch as base\nFROM scratch AS base2\n',
        [
          w(
            'ConsistentInstructionCasing',
            "Command 'From' should match the case of the command majority (uppercase)",
            4,
          ),
        ],
      ],
      [
        '\nFROM scratch\n#\ncopy Dockerfile /foo\nCOPY Dockerfile /bar\n',
        [
          w(
            'ConsistentInstructionCasing',
            "Command 'copy' should match the case of the command majority (uppercase)",
            4,
          ),
        ],
      ],
      [
        '\n#\n#\nfrOM scratch as base\nfrom scratch as base2\n',
        [
          w(
            'ConsistentInstructionCasing',
            "Command 'frOM' should match the case of the command majority (lowercase)",
            4,
          ),
        ],
      ],
      [
        '\nfrom scratch\n#\nCOPY Dockerfile /foo\ncopy Dockerfile /bar\n',
        [
          w(
            'ConsistentInstructionCasing',
            "Command 'COPY' should match the case of the command majority (lowercase)",
            4,
          ),
        ],
      ],
      [
        '\n#\n#\nFROM scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\ncopy Dockerfile /baz\n',
        [
          w(
            'ConsistentInstructionCasing',
            "Command 'FROM' should match the case of the command majority (lowercase)",
            4,
          ),
        ],
      ],
      ['\nfrom scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\n', []],
      ['\nFROM scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\n', []],
      ["\nFROM busybox\nRUN <<'EOT'\nenv\nEOT\n", []],
    ];
    for (const [dockerfile, expected] of cases) expect((await check(dockerfile)).warnings).toEqual(expected);
  });

  it('DuplicateStageName and ReservedStageName', async () => {
    expect((await check('\nFROM scratch AS b\nFROM scratch AS b\n')).warnings).toEqual([
      w('DuplicateStageName', 'Duplicate stage name "b", stage names should be unique', 3),
    ]);
    expect((await check('\nFROM scratch AS b1\nFROM scratch AS b2\n')).warnings).toEqual([]);
    expect((await check('\nFROM scratch AS scratch\nFROM scratch AS context\n')).warnings).toEqual([
      w('ReservedStageName', 'Stage name should not use the same name as reserved stage "scratch"', 2),
      w('ReservedStageName', 'Stage name should not use the same name as reserved stage "context"', 3),
    ]);
    expect((await check('\nFROM scratch\nFROM scratch AS a\n')).warnings).toEqual([]);
  });
});

describe('build checks: instructions', () => {
  it('NoEmptyContinuation at the line after the gap', async () => {
    const r = await check('\nFROM scratch\n# c\nCOPY Dockerfile \\\n\n.\nCOPY Dockerfile \\\n.\n');
    expect(r.warnings).toEqual([w('NoEmptyContinuation', 'Empty continuation line', 6)]);
  });

  it('JSONArgsRecommended unless a SHELL is set (here, in a base stage or in the base image)', async () => {
    expect((await check('\nFROM scratch\nCMD mycommand\n')).warnings).toEqual([
      w(
        'JSONArgsRecommended',
        'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals',
        3,
      ),
    ]);
    expect((await check('\nFROM scratch\nENTRYPOINT mycommand\n')).warnings).toEqual([
      w(
        'JSONArgsRecommended',
        'JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals',
        3,
      ),
    ]);
    for (const dockerfile of [
      '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nCMD mycommand\n',
      '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nENTRYPOINT mycommand\n',
      '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\nCMD mycommand\n',
      '\nFROM withshell\nCMD mycommand\n',
      '\nFROM scratch\nCMD ["mycommand"]\n',
      '\nFROM scratch\n# check=skip=JSONArgsRecommended\nCMD mycommand\n',
    ]) {
      expect((await check(dockerfile)).warnings).toEqual([]);
    }
  });

  it('MaintainerDeprecated', async () => {
    expect((await check('\nFROM scratch\nMAINTAINER me@example.org\n')).warnings).toEqual([
      w('MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', 3),
    ]);
    expect(
      (await check('\nFROM scratch\nLABEL org.opencontainers.image.authors="me@example.org"\n')).warnings,
    ).toEqual([]);
    expect(
      (await check('\nFROM scratch\n# check=skip=MaintainerDeprecated\nMAINTAINER me@example.org\n'))
        .warnings,
    ).toEqual([]);
  });

  it('warnings found before an error are still reported', async () => {
    const r = await check('\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\n');
    expect(r.warnings).toEqual([
      w('StageNameCasing', "Stage name 'BadStageName' should be lowercase", 2),
      w('MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', 3),
    ]);
    expect(r.error?.message).toMatch(/unknown instruction: BADCMD/);
  });

  it('WorkdirRelativePath only before an absolute WORKDIR in the stage or its base stages', async () => {
    expect((await check('\nFROM scratch\nWORKDIR app/\n')).warnings).toEqual([
      w(
        'WorkdirRelativePath',
        'Relative workdir "app/" can have unexpected results if the base image changes',
        3,
      ),
    ]);
    expect(
      (await check('\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n')).warnings,
    ).toEqual([]);
    expect(
      (await check('\nFROM scratch\n# check=skip=WorkdirRelativePath\nWORKDIR app/\n')).warnings,
    ).toEqual([]);
    expect((await check('\nFROM scratch\nWORKDIR /a\nWORKDIR b\n')).warnings).toEqual([]);
  });

  it('MultipleInstructionsDisallowed points at the instruction that has no effect', async () => {
    const msg = (name: string) =>
      `Multiple ${name} instructions should not be used in the same stage because only the last one will be used`;
    const r = await check(
      '\nFROM scratch\nENTRYPOINT ["/myapp"]\nENTRYPOINT ["/myotherapp"]\nCMD ["/myapp"]\nCMD ["/myotherapp"]\n' +
        'HEALTHCHECK CMD ["/myapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
    );
    expect(r.warnings).toEqual([
      w('MultipleInstructionsDisallowed', msg('ENTRYPOINT'), 3),
      w('MultipleInstructionsDisallowed', msg('CMD'), 5),
      w('MultipleInstructionsDisallowed', msg('HEALTHCHECK'), 7),
    ]);
    const r2 = await check(
      '\nFROM scratch AS a\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\n\n' +
        'FROM a AS b\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
    );
    expect(r2.warnings).toEqual([]);
  });

  it('LegacyKeyValueFormat for ENV and LABEL, also in stages the target does not need (with --check)', async () => {
    const legacy = (name: string) =>
      `"${name} key=value" should be used instead of legacy "${name} key value" format`;
    expect((await check('\nFROM scratch\nENV testkey value\nLABEL key value\n')).warnings).toEqual([
      w('LegacyKeyValueFormat', legacy('ENV'), 3),
      w('LegacyKeyValueFormat', legacy('LABEL'), 4),
    ]);
    expect((await check('\nFROM scratch\nENV testkey=value\nLABEL key=value\n')).warnings).toEqual([]);
    const unreachable =
      '\nFROM scratch AS a\n\nFROM a AS b\nENV testkey value\nLABEL key value\n\nFROM a AS c\n';
    expect((await check(unreachable, { build: true })).warnings).toEqual([]);
    expect((await check(unreachable)).warnings).toEqual([
      w('LegacyKeyValueFormat', legacy('ENV'), 5),
      w('LegacyKeyValueFormat', legacy('LABEL'), 6),
    ]);
    const skipped =
      '\nFROM scratch\n# check=skip=LegacyKeyValueFormat\nENV testkey value\n# check=skip=LegacyKeyValueFormat\nLABEL key value\n';
    expect((await check(skipped)).warnings).toEqual([]);
  });

  it('SecretsUsedInArgOrEnv, with per-instruction skips', async () => {
    const dockerfile = `# check=skip=InvalidDefinitionDescription

FROM scratch
ARG SECRET_PASSPHRASE
ENV SUPER_Secret=foo
ENV password=bar secret=baz
ARG super_duper_secret_token=foo auth=bar
ENV apikey=bar sunflower=foo
ENV git_key=
ENV PUBLIC_KEY=
ARG public_token
ARG SECRET_PASSPHRASE_FILE
ENV password_file=bar secret_File=baz
ARG AUTH_MODULE_VERSION
# check=skip=SecretsUsedInArgOrEnv // allow secret in environment
ENV password=bar
# check=skip=SecretsUsedInArgOrEnv // allow secret in arg
ARG password
# check=skip=all // is local to only this instruction
ENV alternate_password=bar
# check=skip=all // is local to only this instruction
ARG alternate_password
`;
    const s = (i: string, k: string) => `Do not use ARG or ENV instructions for sensitive data (${i} "${k}")`;
    expect((await check(dockerfile)).warnings).toEqual([
      w('SecretsUsedInArgOrEnv', s('ARG', 'SECRET_PASSPHRASE'), 4),
      w('SecretsUsedInArgOrEnv', s('ENV', 'SUPER_Secret'), 5),
      w('SecretsUsedInArgOrEnv', s('ENV', 'password'), 6),
      w('SecretsUsedInArgOrEnv', s('ENV', 'secret'), 6),
      w('SecretsUsedInArgOrEnv', s('ARG', 'auth'), 7),
      w('SecretsUsedInArgOrEnv', s('ARG', 'super_duper_secret_token'), 7),
      w('SecretsUsedInArgOrEnv', s('ENV', 'apikey'), 8),
      w('SecretsUsedInArgOrEnv', s('ENV', 'git_key'), 9),
    ]);
  });

  it('ExposeProtoCasing and ExposeInvalidFormat', async () => {
    expect((await check('\nFROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n')).warnings).toEqual([
      w('ExposeProtoCasing', "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase", 3),
      w('ExposeProtoCasing', "Defined protocol '8080/TCP' in EXPOSE instruction should be lowercase", 3),
    ]);
    const found = (p: string) =>
      `EXPOSE instruction should not define an IP address or host-port mapping, found '${p}'`;
    expect(
      (await check('\nFROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n')).warnings,
    ).toEqual([
      w('ExposeInvalidFormat', found('127.0.0.1:80:80'), 3),
      w('ExposeInvalidFormat', found('5000:5000'), 3),
      w('ExposeInvalidFormat', found('[::1]:8080:8080'), 3),
    ]);
    expect((await check('\nFROM scratch\nEXPOSE 80 443/tcp 53/udp\n')).warnings).toEqual([]);
  });
});

describe('build checks: variables', () => {
  it('UndefinedArgInFrom, with suggestions; declared, automatic and defaulted ARGs are fine', async () => {
    for (const dockerfile of [
      '\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n',
      '\nARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n',
      '\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n',
      '\nARG DEBUG\nFROM scratch${DEBUG}\nCOPY Dockerfile .\n',
      '\nARG DEBUG\nFROM scra${DEBUG:-tch}\nCOPY Dockerfile .\n',
      '\nARG DEBUG=""\nFROM scratch${DEBUG-@bogus}\nCOPY Dockerfile .\n',
    ]) {
      expect((await check(dockerfile)).warnings).toEqual([]);
    }
    const typo = await check('\nFROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n');
    expect(typo.warnings).toEqual([
      w(
        'UndefinedArgInFrom',
        "FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)",
        2,
      ),
    ]);
    expect(typo.error?.message).toMatch(/empty platform value from expression \$BULIDPLATFORM/);
    const version = await check('\nARG tag=latest\nFROM busybox:${tag}${version} AS b\nCOPY Dockerfile .\n');
    expect(version.warnings).toEqual([w('UndefinedArgInFrom', "FROM argument 'version' is not declared", 3)]);
  });

  it('UndefinedVar: the environment before the instruction, declared ARGs, suggestions', async () => {
    for (const dockerfile of [
      '\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n',
      '\nFROM alpine AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n',
      '\nFROM alpine\nRUN echo $PATH\n',
      '\nFROM alpine\nARG A=1 B=$A\n',
    ]) {
      expect((await check(dockerfile)).warnings).toEqual([]);
    }
    expect((await check('\nFROM alpine\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n')).warnings).toEqual([
      w('UndefinedVar', "Usage of undefined variable '$foo'", 3),
    ]);
    const assets =
      '\nFROM alpine\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\nARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n';
    expect((await check(assets)).warnings).toEqual([
      w('UndefinedVar', "Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)", 6),
    ]);
    expect((await check('\nFROM alpine\nENV PATH=$PAHT:/tmp/bin\n')).warnings).toEqual([
      w('UndefinedVar', "Usage of undefined variable '$PAHT' (did you mean $PATH?)", 3),
    ]);
    expect(
      (await check('\nFROM alpine\nARG X=$nope\nWORKDIR /$nope2\n')).warnings.map((f) => f.detail),
    ).toEqual(["Usage of undefined variable '$nope'", "Usage of undefined variable '$nope2'"]);
  });

  it('only the stages a build needs are checked at dispatch; --check checks them all', async () => {
    const dockerfile = '\nFROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n';
    expect((await check(dockerfile, { build: true })).warnings).toEqual([
      w('UndefinedVar', "Usage of undefined variable '$bar'", 6),
    ]);
    expect((await check(dockerfile)).warnings).toEqual([
      w('UndefinedVar', "Usage of undefined variable '$foo'", 3),
      w('UndefinedVar', "Usage of undefined variable '$bar'", 6),
    ]);
  });

  it('RedundantTargetPlatform and FromPlatformFlagConstDisallowed', async () => {
    const redundant = (v: string) =>
      `Setting platform to predefined ${v} in FROM is redundant as this is the default behavior`;
    expect((await check('\nFROM --platform=$TARGETPLATFORM scratch\n')).warnings).toEqual([
      w('RedundantTargetPlatform', redundant('$TARGETPLATFORM'), 2),
    ]);
    expect((await check('\nFROM --platform=${TARGETPLATFORM} scratch\n')).warnings).toEqual([
      w('RedundantTargetPlatform', redundant('${TARGETPLATFORM}'), 2),
    ]);
    expect(
      (await check('\n# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n'))
        .warnings,
    ).toEqual([]);
    const platform = formatPlatform(host);
    expect((await check(`\nFROM --platform=${platform} scratch\n`)).warnings).toEqual([
      w(
        'FromPlatformFlagConstDisallowed',
        `FROM --platform flag should not use constant value "${platform}"`,
        2,
      ),
    ]);
    expect(
      (await check(`\nFROM --platform=${platform} scratch AS my_${host.architecture}_stage\n`)).warnings,
    ).toEqual([]);
    expect((await check(`\nFROM --platform=${platform} scratch AS linux\n`)).warnings).toEqual([]);
  });

  it('InvalidDefaultArgInFrom: the FROM is checked with the ARG defaults, not the build args', async () => {
    const invalid = (b: string) => `Default value for ARG ${b} results in empty or invalid base image name`;
    expect(
      (await check('\nARG VERSION\nFROM busybox:$VERSION\n', { buildArgs: { VERSION: 'latest' } })).warnings,
    ).toEqual([w('InvalidDefaultArgInFrom', invalid('busybox:$VERSION'), 3)]);
    expect(
      (await check('\nARG IMAGE\nFROM $IMAGE\n', { buildArgs: { IMAGE: 'busybox:latest' } })).warnings,
    ).toEqual([w('InvalidDefaultArgInFrom', invalid('$IMAGE'), 3)]);
    expect(
      (await check('\nARG SFX="box:"\nFROM busy${SFX}\n', { buildArgs: { SFX: 'box:latest' } })).warnings,
    ).toEqual([w('InvalidDefaultArgInFrom', invalid('busy${SFX}'), 3)]);
    for (const dockerfile of [
      '\nARG VERSION="latest"\nFROM busybox:${VERSION}\n',
      '\nARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n',
      '\n\tARG BUSYBOX_VARIANT\n\tFROM busybox:stable${BUSYBOX_VARIANT}\n\t',
    ]) {
      expect(
        (await check(dockerfile, { buildArgs: { VERSION: 'latest', BUSYBOX_VARIANT: '-musl' } })).warnings,
      ).toEqual([]);
    }
  });
});

describe('build checks: context and base images', () => {
  it('CopyIgnoredFile: sources .dockerignore excludes, unless it has exclusions; the root only with */**', async () => {
    const r = await check('\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n', {
      excludes: ['Dockerfile'],
    });
    expect(r.warnings).toEqual([
      w('CopyIgnoredFile', 'Attempting to Copy file "Dockerfile" that is excluded by .dockerignore', 3),
      w('CopyIgnoredFile', 'Attempting to Add file "Dockerfile" that is excluded by .dockerignore', 4),
    ]);
    const skipped =
      '# check=skip=CopyIgnoredFile\n\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n';
    expect((await check(skipped, { excludes: ['Dockerfile'] })).warnings).toEqual([]);
    const fromStage =
      '\nFROM scratch AS base\nCOPY Dockerfile /foobar\nADD Dockerfile /windy\n\nFROM base\nCOPY --from=base /foobar /Dockerfile\n';
    expect((await check(fromStage, { excludes: ['foobar'] })).warnings).toEqual([]);
    expect(
      (await check('\nFROM scratch\nCOPY ./Dockerfile .\n', { excludes: ['**', '!Dockerfile'] })).warnings,
    ).toEqual([]);
    expect((await check('\nFROM scratch\nCOPY . .\n', { excludes: ['.*'] })).warnings).toEqual([]);
    expect((await check('\nFROM scratch\nCOPY . .\n', { excludes: ['*'] })).warnings).toEqual([
      w('CopyIgnoredFile', 'Attempting to Copy file "." that is excluded by .dockerignore', 3),
    ]);
    expect((await check('\nFROM scratch\nCOPY sub/file .\n', { excludes: ['sub'] })).warnings).toEqual([
      w('CopyIgnoredFile', 'Attempting to Copy file "sub/file" that is excluded by .dockerignore', 3),
    ]);
  });

  it('InvalidBaseImagePlatform: a base image of another platform (no URL)', async () => {
    const r = await check('\nFROM armimage:1\nENV foo=bar\n');
    const expected = formatPlatform(host);
    expect(r.warnings).toEqual([
      w(
        'InvalidBaseImagePlatform',
        `Base image armimage:1 was pulled with platform "linux/arm64", expected "${expected}" for current build`,
        2,
      ),
    ]);
    expect(r.raw[0]?.url).toBe('');
    expect(r.raw[0]?.message).toBe(`InvalidBaseImagePlatform: ${r.raw[0]?.detail} (line 2)`);
  });

  it('InvalidDefinitionDescription is experimental: off unless enabled', async () => {
    const dockerfile =
      '# bar this is the bar\nARG foo=bar\n# BasE this is the BasE image\nFROM scratch AS base\n' +
      '# definitely a bad comment\nARG version=latest\n# definitely a bad comment\nARG foo=baz bar=qux baz=quux\n';
    expect((await check(dockerfile)).warnings).toEqual([]);
    const c = (i: string, n: string) => `Comment for ${i} should follow the format: \`# ${n} <description>\``;
    expect(
      (await check(`# check=experimental=InvalidDefinitionDescription\n${dockerfile}`)).warnings,
    ).toEqual([
      w('InvalidDefinitionDescription', c('ARG', 'foo'), 3),
      w('InvalidDefinitionDescription', c('FROM', 'base'), 5),
      w('InvalidDefinitionDescription', c('ARG', 'version'), 7),
      w('InvalidDefinitionDescription', c('ARG', '<arg_key>'), 9),
    ]);
    const good =
      '# check=skip=all;experimental=InvalidDefinitionDescription\n# foo this is the foo\nARG foo=bar\n\n' +
      '# base this is the base image\nFROM scratch AS base\n\n# version this is the version number\nARG version=latest\n\n' +
      '# baz this is the baz\nARG foo=baz bar=qux baz=quux\n#\nARG bit=bat\n\n# comment for something other than ARG or FROM\nCOPY Dockerfile .\n';
    expect((await check(good)).warnings).toEqual([]);
    expect((await check(`# check=experimental=all\n${dockerfile}`)).warnings).toHaveLength(4);
  });
});

describe('build checks: configuration', () => {
  const base = 'FROM scratch as base\ncopy Dockerfile .\n';
  const fromAs = w('FromAsCasing', "'as' and 'FROM' keywords' casing do not match", 2);

  it('skip=all, skip=<rules>, error=true and the BUILDKIT_DOCKERFILE_CHECK build arg', async () => {
    expect((await check(`#check=skip=all\n${base}`)).warnings).toEqual([]);
    expect(await check(`#check=skip=all;error=true\n${base}`)).toEqual({ warnings: [], raw: [] });
    expect((await check(`#check=skip=ConsistentInstructionCasing,FromAsCasing\n${base}`)).warnings).toEqual(
      [],
    );
    const one = await check(`#check=skip=ConsistentInstructionCasing\n${base}`);
    expect(one.warnings).toEqual([fromAs]);
    expect(one.error).toBeUndefined();
    const failing = await check(`#check=skip=ConsistentInstructionCasing;error=true\n${base}`, {
      build: true,
    });
    expect(failing.warnings).toEqual([fromAs]);
    expect(failing.error?.message).toBe('lint violation found for rules: FromAsCasing');
    expect(failing.error?.code).toBe('DOCKERFILE_ERROR');
    expect(
      (failing.error as { location?: { range: { start: { line: number } } } }).location?.range.start.line,
    ).toBe(2);
    const byArg = await check(`#check=skip=all\n${base}`, {
      build: true,
      buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=ConsistentInstructionCasing;error=true' },
    });
    expect(byArg.warnings).toEqual([fromAs]);
    expect(byArg.error?.message).toBe('lint violation found for rules: FromAsCasing');
    const argWins = await check(`#check=error=true\n${base}`, {
      build: true,
      buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=all' },
    });
    expect(argWins).toEqual({ warnings: [], raw: [] });
  });

  it('every warning carries its rule description, URL and the short form buildx prints', async () => {
    const r = await check(`#check=skip=ConsistentInstructionCasing\n${base}`);
    expect(r.raw).toEqual([
      {
        rule: 'FromAsCasing',
        description: "The 'as' keyword should match the case of the 'from' keyword",
        url: 'https://docs.docker.com/go/dockerfile/rule/from-as-casing/',
        detail: "'as' and 'FROM' keywords' casing do not match",
        message: "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 2)",
        range: { start: { line: 2, column: 1 }, end: { line: 2, column: 21 } },
      },
    ]);
  });

  it('bad check options are errors that name them', async () => {
    await expect(
      convertDockerfile({
        source: '# check=skip\nFROM scratch\n',
        resolveImage: async () => ({ ref: 'x', config: image }),
      }),
    ).rejects.toThrow('failed to parse check options: invalid check option "skip"');
    expect(() => parseCheckOptions('error=maybe')).toThrow(/failed to parse check option "error=maybe"/);
    expect(() => parseCheckOptions('color=red')).toThrow(/invalid check option "color"/);
    expect(() => parseCheckOptions('x', 'BUILDKIT_DOCKERFILE_CHECK')).toThrow(
      /failed to parse BUILDKIT_DOCKERFILE_CHECK: invalid check option "x"/,
    );
    const c = parseCheckOptions(' skip = A, B ; experimental=all;error=True');
    expect([...c.skip]).toEqual(['A', 'B']);
    expect(c.experimentalAll && c.error).toBe(true);
  });

  it('the rule table is the reference rule set, with URLs under docs.docker.com/go/dockerfile/rule/', () => {
    expect(Object.keys(RULES).sort()).toEqual(
      [
        'StageNameCasing',
        'FromAsCasing',
        'NoEmptyContinuation',
        'ConsistentInstructionCasing',
        'DuplicateStageName',
        'ReservedStageName',
        'JSONArgsRecommended',
        'MaintainerDeprecated',
        'UndefinedArgInFrom',
        'WorkdirRelativePath',
        'UndefinedVar',
        'MultipleInstructionsDisallowed',
        'LegacyKeyValueFormat',
        'InvalidBaseImagePlatform',
        'RedundantTargetPlatform',
        'SecretsUsedInArgOrEnv',
        'InvalidDefaultArgInFrom',
        'FromPlatformFlagConstDisallowed',
        'CopyIgnoredFile',
        'InvalidDefinitionDescription',
        'ExposeProtoCasing',
        'ExposeInvalidFormat',
      ].sort(),
    );
    for (const rule of Object.values(RULES)) {
      if (rule.name !== 'InvalidBaseImagePlatform')
        expect(rule.url).toMatch(/^https:\/\/docs\.docker\.com\/go\/dockerfile\/rule\/[a-z-]+\/$/);
    }
  });
});

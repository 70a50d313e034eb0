/** Each instruction: its arguments, every flag, and its errors with their locations. */
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../parser/index.js';
import { parseInstructions, parseStages } from '../../frontend/instructions/index.js';
import { FILE, as, at, failure, firstError } from '../helpers/instructions.js';

describe('FROM', () => {
  it('image only', () => {
    expect(as('from', 'FROM alpine:3.20')).toMatchObject({ image: 'alpine:3.20', docComment: '' });
    expect(as('from', 'FROM alpine').stageName).toBeUndefined();
  });

  it('platform and stage name (lower-cased)', () => {
    const from = as('from', 'FROM --platform=$BUILDPLATFORM golang:1.22 AS Build');
    expect(from).toMatchObject({ image: 'golang:1.22', stageName: 'build', platform: '$BUILDPLATFORM' });
    expect(from.flagsUsed).toEqual(['platform']);
  });

  it('lower-case `as` and doc comment', () => {
    const from = as('from', '# builder compiles the code\nfrom alpine as builder');
    expect(from).toMatchObject({ name: 'from', stageName: 'builder', docComment: 'compiles the code' });
  });

  it('invalid stage name, located at the name', () => {
    const error = firstError('FROM alpine AS 1abc');
    expect(error.message).toBe(
      'invalid name for build stage: "1abc", name can\'t start with a number or contain symbols',
    );
    expect(error.location?.range).toEqual(at(1, 16, 1, 20));
  });

  it.each(['FROM a b', 'FROM a to b', 'FROM a AS b c', 'FROM'])('%j: one or three arguments', (source) => {
    expect(firstError(source).message).toBe('FROM requires either one or three arguments');
  });

  it('unknown flag with a suggestion, located at the flag', () => {
    const error = firstError('FROM --platfrom=linux/amd64 alpine');
    expect(error.message).toBe('unknown flag: --platfrom (did you mean platform?)');
    expect(error.location?.range).toEqual(at(1, 6, 1, 28));
  });

  it('--platform needs a value', () => {
    expect(firstError('FROM --platform alpine').message).toBe('missing a value on flag: --platform');
  });
});

describe('RUN', () => {
  it('shell form', () => {
    expect(as('run', 'RUN echo  hello && ls')).toMatchObject({
      cmdLine: ['echo  hello && ls'],
      prependShell: true,
      files: [],
      mounts: [],
      network: 'default',
      security: 'sandbox',
      devices: [],
      flagsUsed: [],
    });
  });

  it('exec form', () => {
    expect(as('run', 'RUN ["ls", "-l", "/"]')).toMatchObject({
      cmdLine: ['ls', '-l', '/'],
      prependShell: false,
    });
  });

  it('--network and --security', () => {
    const run = as('run', 'RUN --network=none --security=insecure true');
    expect(run).toMatchObject({ network: 'none', security: 'insecure', flagsUsed: ['network', 'security'] });
    expect(as('run', 'RUN --network=host true').network).toBe('host');
  });

  it('bad --network value, located at the flag', () => {
    const error = firstError('RUN --network=bridge true');
    expect(error.message).toBe('invalid network mode "bridge"');
    expect(error.location?.range).toEqual(at(1, 5, 1, 21));
  });

  it('bad --security value', () => {
    expect(firstError('RUN --security=privileged true').message).toBe('security "privileged" is not valid');
  });

  it('duplicate single-valued flag', () => {
    expect(firstError('RUN --network=none --network=host true').message).toBe(
      'duplicate flag specified: --network',
    );
  });

  it('unknown flag suggests the closest', () => {
    expect(firstError('RUN --mont=type=cache,target=/x true').message).toBe(
      'unknown flag: --mont (did you mean mount?)',
    );
  });

  it('several mounts and devices', () => {
    const run = as(
      'run',
      'RUN --mount=type=cache,target=/root/.cache,sharing=locked --mount=type=secret,id=npmrc,required \\\n' +
        '    --device=vendor.com/gpu=all,required true',
    );
    expect(run.mounts.map((m) => [m.type, m.target ?? m.id])).toEqual([
      ['cache', '/root/.cache'],
      ['secret', 'npmrc'],
    ]);
    expect(run.devices).toEqual([{ name: 'vendor.com/gpu=all', required: true }]);
    expect(run.flagsUsed).toEqual(['mount', 'device']);
  });

  it('a bad mount on a continuation line is located there', () => {
    const error = firstError('RUN --network=none \\\n  --mount=type=foo,target=/x \\\n  true');
    expect(error.message).toBe('unsupported mount type "foo"');
    expect(error.location?.range).toEqual(at(2, 3, 2, 29));
  });

  it('the second of two mounts is located', () => {
    const error = firstError('RUN --mount=type=cache,target=/a --mount=type=cache,target=/b,uid=x true');
    expect(error.message).toBe('invalid value x for uid');
    expect(error.location?.range.start).toEqual({ line: 1, column: 34 });
  });

  it('heredoc with a pipe', () => {
    const run = as('run', "RUN <<'EOF' | python3\nprint(1)\nEOF\n");
    expect(run).toMatchObject({
      cmdLine: ["<<'EOF' | python3"],
      files: [{ name: 'EOF', data: 'print(1)\n', chomp: false }],
    });
  });

  it('bare RUN is an empty shell command, as in BuildKit', () => {
    expect(as('run', 'RUN')).toMatchObject({ cmdLine: [], prependShell: true });
  });
});

describe('COPY', () => {
  it('sources, destination and every flag', () => {
    const copy = as(
      'copy',
      'COPY --from=build --chown=1000:1000 --chmod=0755 --link --parents --exclude=*.md --exclude=.git a b /dst/',
    );
    expect(copy).toMatchObject({
      sources: ['a', 'b'],
      sourceContents: [],
      dest: '/dst/',
      from: 'build',
      chown: '1000:1000',
      chmod: { raw: '0755', mode: 0o755 },
      link: true,
      parents: true,
      exclude: ['*.md', '.git'],
    });
    expect(copy.flagsUsed).toEqual(['from', 'chown', 'chmod', 'link', 'parents', 'exclude']);
  });

  it('defaults', () => {
    const copy = as('copy', 'COPY . .');
    expect(copy).toMatchObject({ link: false, parents: false, exclude: [] });
    expect(copy.from).toBeUndefined();
    expect(copy.chmod).toBeUndefined();
  });

  it('--link=false and --link=TRUE', () => {
    expect(as('copy', 'COPY --link=false a b').link).toBe(false);
    expect(as('copy', 'COPY --link=TRUE a b').link).toBe(true);
  });

  it('bad bool value', () => {
    expect(firstError('COPY --link=yes a b').message).toBe(
      'expecting boolean value for flag --link, not: yes',
    );
    expect(firstError('COPY --link= a b').message).toBe('missing a value on flag: --link');
  });

  it('symbolic --chmod', () => {
    expect(as('copy', 'COPY --chmod=u+x,g-w a b').chmod).toEqual({ raw: 'u+x,g-w' });
  });

  it('--chmod with a variable is checked later', () => {
    expect(as('copy', 'COPY --chmod=$MODE a b').chmod).toEqual({ raw: '$MODE' });
  });

  it('bad --chmod, located at the flag', () => {
    const error = firstError('COPY --chmod=8755 a b');
    expect(error.message).toBe(
      "invalid chmod parameter: '8755'. it should be octal string and between 0 and 07777",
    );
    expect(error.location?.range).toEqual(at(1, 6, 1, 18));
    expect(firstError('COPY --chmod=u+q a b').message).toContain('invalid syntax');
  });

  it('JSON form with spaces', () => {
    expect(as('copy', 'COPY ["a b", "/c d/"]')).toMatchObject({ sources: ['a b'], dest: '/c d/' });
  });

  it('a URL source is refused, located at the source', () => {
    const error = firstError('COPY http://example.com/a.txt /');
    expect(error.message).toBe("source can't be a URL for COPY");
    expect(error.location?.range).toEqual(at(1, 6, 1, 30));
  });

  it('a git source is refused', () => {
    expect(firstError('COPY https://github.com/moby/buildkit.git /src').message).toBe(
      "source can't be a git ref for COPY",
    );
    expect(firstError('COPY git@github.com:moby/buildkit.git /src').message).toBe(
      "source can't be a git ref for COPY",
    );
  });

  it('a source with a variable is left for dispatch', () => {
    expect(as('copy', 'COPY $URL /').sources).toEqual(['$URL']);
  });

  it('--from does not expand variables', () => {
    expect(firstError('COPY --from=$STAGE a b').message).toBe(
      'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
    );
  });

  it('heredoc destination is located at the destination', () => {
    const error = firstError('COPY /foo <<EOF\nEOF');
    expect(error.message).toBe('COPY cannot accept a heredoc as a destination');
    expect(error.location?.range).toEqual(at(1, 11, 1, 16));
  });

  it('chomped heredoc source', () => {
    const copy = as('copy', 'COPY <<-EOT /etc/motd\n\t\thello\n\tEOT\n');
    expect(copy.sourceContents).toEqual([{ path: 'EOT', data: 'hello\n', expand: true }]);
  });
});

describe('ADD', () => {
  it('URL with checksum, and every flag', () => {
    const add = as(
      'add',
      'ADD --checksum=sha256:abc --chown=app --chmod=644 --link --keep-git-dir --unpack=false --exclude=x https://example.com/a.tgz /x/',
    );
    expect(add).toMatchObject({
      sources: ['https://example.com/a.tgz'],
      dest: '/x/',
      checksum: 'sha256:abc',
      chown: 'app',
      chmod: { raw: '644', mode: 0o644 },
      link: true,
      keepGitDir: true,
      unpack: false,
      exclude: ['x'],
    });
  });

  it('optional bools stay unset when not given', () => {
    const add = as('add', 'ADD a.tar /');
    expect(add.keepGitDir).toBeUndefined();
    expect(add.unpack).toBeUndefined();
  });

  it('--checksum needs one remote source', () => {
    expect(firstError('ADD --checksum=sha256:abc a.txt /').message).toBe(
      'checksum requires HTTP(S) or Git sources',
    );
    expect(firstError('ADD --checksum=sha256:abc https://a/b https://a/c /').message).toBe(
      "checksum can't be specified for multiple sources",
    );
  });

  it('ADD has no --from or --parents', () => {
    expect(firstError('ADD --from=x a b').message).toContain('unknown flag: --from');
    expect(firstError('ADD --parents a b').message).toContain('unknown flag: --parents');
  });
});

describe('ENV, LABEL, ARG', () => {
  it('ENV key=value pairs', () => {
    expect(as('env', 'ENV A=1 B="two words" C=').env).toEqual([
      { key: 'A', value: '1', noDelim: false },
      { key: 'B', value: '"two words"', noDelim: false },
      { key: 'C', value: '', noDelim: false },
    ]);
  });

  it('legacy ENV key value', () => {
    expect(as('env', 'ENV PATH /usr/bin:$PATH').env).toEqual([
      { key: 'PATH', value: '/usr/bin:$PATH', noDelim: true },
    ]);
  });

  it('LABEL pairs', () => {
    expect(as('label', 'LABEL a=b "c d"=e').labels).toEqual([
      { key: 'a', value: 'b', noDelim: false },
      { key: '"c d"', value: 'e', noDelim: false },
    ]);
  });

  it('blank ENV name, located at the name', () => {
    const error = firstError('ENV =x');
    expect(error.message).toBe('ENV names can not be blank');
    expect(error.location?.range.start).toEqual({ line: 1, column: 5 });
  });

  it('ENV and LABEL take no flags', () => {
    expect(firstError('ENV --x=1 a=b').message).toBe('unknown flag: --x');
    expect(firstError('LABEL --x=1 a=b').message).toBe('unknown flag: --x');
  });

  it('ARG names with and without defaults', () => {
    expect(as('arg', 'ARG a b=c d=').args).toEqual([
      { key: 'a', docComment: '' },
      { key: 'b', value: 'c', docComment: '' },
      { key: 'd', value: '', docComment: '' },
    ]);
  });

  it('blank ARG name, located at the word', () => {
    const error = firstError('ARG a =x');
    expect(error.message).toBe('ARG names can not be blank');
    expect(error.location?.range).toEqual(at(1, 7, 1, 9));
  });

  it('ARG flags are reported (BuildKit ignores them)', () => {
    expect(firstError('ARG --foo a').message).toBe('unknown flag: --foo');
  });
});

describe('EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, MAINTAINER', () => {
  it('EXPOSE sorts the ports', () => {
    expect(as('expose', 'EXPOSE 8080/tcp 443 80/udp').ports).toEqual(['443', '80/udp', '8080/tcp']);
  });

  it('VOLUME words and JSON', () => {
    expect(as('volume', 'VOLUME /a /b').volumes).toEqual(['/a', '/b']);
    expect(as('volume', 'VOLUME ["/c", " /d "]').volumes).toEqual(['/c', '/d']);
  });

  it('VOLUME with an empty string', () => {
    expect(firstError('VOLUME ["/a", " "]').message).toBe('VOLUME specified can not be an empty string');
  });

  it('USER, WORKDIR, STOPSIGNAL, MAINTAINER', () => {
    expect(as('user', 'USER app:app').user).toBe('app:app');
    expect(as('workdir', 'WORKDIR /src').path).toBe('/src');
    expect(as('stopsignal', 'STOPSIGNAL SIGQUIT').signal).toBe('SIGQUIT');
    expect(as('maintainer', 'MAINTAINER me@example.com').maintainer).toBe('me@example.com');
  });

  it('WORKDIR takes the rest of the line as one argument', () => {
    expect(as('workdir', 'WORKDIR /a /b').path).toBe('/a /b');
    expect(firstError('WORKDIR').location?.range).toEqual(at(1, 1, 1, 8));
  });

  it('STOPSIGNAL flags are reported (BuildKit ignores them)', () => {
    expect(firstError('STOPSIGNAL --x=1 9').message).toBe('unknown flag: --x');
  });
});

describe('CMD, ENTRYPOINT, SHELL', () => {
  it('CMD shell and exec forms', () => {
    expect(as('cmd', 'CMD echo hi')).toMatchObject({ cmdLine: ['echo hi'], prependShell: true });
    expect(as('cmd', 'CMD ["echo", "hi"]')).toMatchObject({ cmdLine: ['echo', 'hi'], prependShell: false });
    expect(as('cmd', 'CMD []')).toMatchObject({ cmdLine: [], prependShell: false });
  });

  it('ENTRYPOINT', () => {
    expect(as('entrypoint', 'ENTRYPOINT ["/init"]')).toMatchObject({
      cmdLine: ['/init'],
      prependShell: false,
    });
    expect(as('entrypoint', 'ENTRYPOINT exec nginx')).toMatchObject({ cmdLine: ['exec nginx'] });
  });

  it('SHELL must be JSON', () => {
    expect(as('shell', 'SHELL ["powershell", "-Command"]').shell).toEqual(['powershell', '-Command']);
    expect(firstError('SHELL /bin/bash -c').message).toBe('SHELL requires the arguments to be in JSON form');
    expect(firstError('SHELL []').message).toBe('SHELL requires at least one argument');
  });
});

describe('HEALTHCHECK', () => {
  it('NONE', () => {
    expect(as('healthcheck', 'HEALTHCHECK NONE').health.test).toEqual(['NONE']);
    expect(firstError('HEALTHCHECK NONE x').message).toBe('HEALTHCHECK NONE takes no arguments');
  });

  it('CMD with every flag', () => {
    const hc = as(
      'healthcheck',
      'HEALTHCHECK --interval=1m30s --timeout=1.5s --start-period=2h --start-interval=500ms --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1',
    );
    expect(hc.health).toEqual({
      test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
      interval: 90e9,
      timeout: 1.5e9,
      startPeriod: 7200e9,
      startInterval: 500e6,
      retries: 3,
    });
  });

  it('exec form and lower-case cmd', () => {
    expect(as('healthcheck', 'HEALTHCHECK cmd ["pg_isready", "-U", "x"]').health.test).toEqual([
      'CMD',
      'pg_isready',
      '-U',
      'x',
    ]);
  });

  it.each([
    ['--interval=5', 'time: missing unit in duration "5"'],
    ['--interval=5x', 'time: unknown unit "x" in duration "5x"'],
    ['--timeout=abc', 'time: invalid duration "abc"'],
    ['--timeout=500us', 'Interval "timeout" cannot be less than 1ms'],
    ['--start-period=-1s', 'Interval "start-period" cannot be less than 1ms'],
    ['--retries=-1', '--retries cannot be negative (-1)'],
    ['--retries=x', 'strconv.ParseInt: parsing "x": invalid syntax'],
    ['--retries=3000000000', 'strconv.ParseInt: parsing "3000000000": value out of range'],
    ['--intervl=1s', 'unknown flag: --intervl (did you mean interval?)'],
  ])('%s fails: %s', (flag, message) => {
    const error = firstError(`HEALTHCHECK ${flag} CMD true`);
    expect(error.message).toBe(message);
    expect(error.location?.range.start).toEqual({ line: 1, column: 13 });
  });

  it('zero durations mean unset', () => {
    expect(as('healthcheck', 'HEALTHCHECK --interval=0s --timeout=0 CMD true').health.interval).toBe(0);
  });

  it('unknown type and missing command', () => {
    expect(firstError('HEALTHCHECK CONNECT tcp').message).toBe(
      'Unknown type "CONNECT" in HEALTHCHECK (try CMD)',
    );
    expect(firstError('HEALTHCHECK CMD').message).toBe('Missing command after HEALTHCHECK CMD');
  });
});

describe('ONBUILD', () => {
  it('parses its trigger', () => {
    const onbuild = as('onbuild', 'ONBUILD COPY --chown=app . /app');
    expect(onbuild.expression).toBe('COPY --chown=app . /app');
    expect(onbuild.trigger).toMatchObject({ kind: 'copy', chown: 'app', sources: ['.'], dest: '/app' });
  });

  it('keeps heredoc bodies in the expression', () => {
    const onbuild = as('onbuild', 'onbuild RUN <<EOF\necho hi\nEOF\n');
    expect(onbuild.expression).toBe('RUN <<EOF\necho hi\nEOF');
    expect(onbuild.trigger).toMatchObject({ kind: 'run', files: [{ name: 'EOF', data: 'echo hi\n' }] });
  });

  it('MAINTAINER trigger is refused', () => {
    expect(firstError('ONBUILD maintainer me').message).toBe(
      "MAINTAINER isn't allowed as an ONBUILD trigger",
    );
  });

  it('a bad trigger is reported where it is written', () => {
    const error = firstError('ONBUILD RUN --mount=type=nope true');
    expect(error.message).toBe('unsupported mount type "nope"');
    expect(error.location?.range).toEqual(at(1, 13, 1, 30));
    const error2 = failure(() =>
      parseStages(parseDockerfile('FROM a\n\nONBUILD RUN --mount=type=nope true')),
    );
    expect(error2.location?.range).toEqual(at(3, 13, 3, 30));
  });

  it('an unknown trigger is located at its keyword', () => {
    const error = firstError('ONBUILD \\\n  FOO bar');
    expect(error.message).toBe('unknown instruction: FOO (did you mean FROM?)');
    expect(error.location?.range).toEqual(at(2, 3, 2, 6));
  });

  it('ONBUILD flags are unknown', () => {
    expect(firstError('ONBUILD --x RUN true').message).toBe('unknown flag: --x');
  });
});

describe('unknown instructions and plain data', () => {
  it('suggests the closest keyword, keeping the case', () => {
    expect(firstError('FORM alpine').message).toBe('unknown instruction: FORM (did you mean FROM?)');
    expect(firstError('evn a=b').message).toBe('unknown instruction: evn (did you mean env?)');
    expect(firstError('\n  BOGUS x').location?.range).toEqual(at(2, 3, 2, 8));
  });

  it('instructions survive JSON.stringify unchanged', () => {
    const source =
      'FROM a AS b\nRUN --mount=type=cache,target=/c --device=x true\nCOPY --chmod=755 <<EOF /f\nhi\nEOF\n' +
      'HEALTHCHECK --interval=5s CMD true\nONBUILD RUN x\nARG y\nENV z=1\n';
    const instructions = parseInstructions(parseDockerfile(source, { file: FILE }));
    expect(JSON.parse(JSON.stringify(instructions))).toEqual(instructions);
  });

  it('every error carries file, source and range', () => {
    const error = firstError('RUN --mount=type=bind,uid=1 true');
    expect(error.message).toBe('uid not allowed for "bind" type mounts');
    expect(error.location).toMatchObject({ file: FILE, source: 'RUN --mount=type=bind,uid=1 true' });
    expect(error.code).toBe('DOCKERFILE_ERROR');
  });
});

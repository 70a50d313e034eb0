/**
 * The bytes of a Dockerfile (issue 10 items 9 and 10): BuildKit's line limit of 65535 bytes, and text
 * that is not valid UTF-8, whose bad bytes become U+FFFD one byte at a time as in Go.
 */
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.js';
import { decodeUtf8Escaped, encodeUtf8Escaped, escapedByteLength } from '../../core/utf8.js';
import { parseDockerfile } from '../../parser/index.js';

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

function parseError(text: string): ParseError {
  try {
    parseDockerfile(text);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error('parsed');
}

describe('line length', () => {
  const LIMIT = 'dockerfile line greater than max allowed size of 65535';

  it('a line of 65535 bytes parses, one of 65536 is refused at its line', () => {
    const fits = 'RUN echo ' + 'a'.repeat(65535 - 9);
    expect(parseDockerfile(`FROM scratch\n${fits}\n`).instructions).toHaveLength(2);
    expect(parseDockerfile(`FROM scratch\n${fits}`).instructions).toHaveLength(2);
    const error = parseError(`FROM scratch\n${fits}a\nRUN true\n`);
    expect(error.message).toBe(LIMIT);
    expect(error.location?.range.start.line).toBe(2);
  });

  it('a trailing \\r counts, and so do comments and heredoc lines', () => {
    const line = 'a'.repeat(65535);
    expect(parseError(`FROM scratch\nRUN ${line.slice(4)}\r\n`).message).toBe(LIMIT);
    expect(parseError(`FROM scratch\n#${line}\n`).location?.range.start.line).toBe(2);
    expect(parseError(`FROM scratch\nRUN <<EOF\n${line}a\nEOF\n`).location?.range.start.line).toBe(3);
  });

  it('counts bytes, not characters: é is two bytes, a Latin-1 byte one', () => {
    const utf8 = 'RUN echo ' + 'é'.repeat(32764); // 9 + 65528 bytes
    expect(parseError(`FROM scratch\n${utf8}\n`).message).toBe(LIMIT);
    const latin1 = decodeUtf8Escaped(bytes('FROM scratch\nRUN echo ', Array(65526).fill(0xe9), '\n'));
    expect(escapedByteLength(latin1)).toBe(13 + 65535 + 1);
    expect(parseDockerfile(latin1).instructions).toHaveLength(2);
  });
});

describe('bytes that are not UTF-8', () => {
  it('each bad byte is one escape, as Go decodes it; valid text is unchanged', () => {
    expect(decodeUtf8Escaped(bytes('Jos', [0xe9]))).toBe('Jos\udce9');
    expect(decodeUtf8Escaped(bytes([0xe2, 0x82], 'A'))).toBe('\udce2\udc82A');
    expect(decodeUtf8Escaped(bytes([0xe9, 0xb0, 0xf0, 0x9f, 0x98], '!'))).toBe(
      '\udce9\udcb0\udcf0\udc9f\udc98!',
    );
    expect(decodeUtf8Escaped(bytes([0xed, 0xa0, 0x80, 0xc0, 0x80]))).toBe('\udced\udca0\udc80\udcc0\udc80');
    const valid = '\ufeffFROM scratch\nLABEL a="José 😀 \ufffd"\n';
    expect(decodeUtf8Escaped(Buffer.from(valid))).toBe(valid);
  });

  it('the AST carries U+FFFD for each bad byte, located as the raw text was', () => {
    const text = decodeUtf8Escaped(
      bytes('FROM scratch\nLABEL maintainer="Jos', [0xe9], '" note="', [0xb1, 0xe9, 0xb0], '"\n'),
    );
    const result = parseDockerfile(text);
    expect(result.source).not.toMatch(/\p{Cs}/u);
    const label = result.instructions[1];
    expect(label?.args.map((a) => a.value)).toEqual([
      'maintainer',
      '"Jos\ufffd"',
      '=',
      'note',
      '"\ufffd\ufffd\ufffd"',
      '=',
    ]);
    expect(label?.range.end.column).toBe(text.split('\n')[1]!.length + 1);
  });

  it('encoding gives back the bytes that were decoded; a lone surrogate not from a byte is U+FFFD', () => {
    const samples = [
      bytes('Jos', [0xe9], '\n'),
      bytes([0xe2, 0x82], 'A', [0xff, 0x80, 0xc0, 0xaf]),
      bytes([0xed, 0xa0, 0x80], ' \u00e9 ', [0xf0, 0x9f, 0x98]),
      Buffer.from('\ufeffvalid é 😀 \ufffd\n'),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    ];
    for (const raw of samples) expect(encodeUtf8Escaped(decodeUtf8Escaped(raw))).toEqual(Buffer.from(raw));
    expect(encodeUtf8Escaped('a\ud800b\udc7fc')).toEqual(Buffer.from('a\ufffdb\ufffdc'));
    // U+1F4A9's low surrogate is U+DCA9, in the escapes' range: as half of a pair it is no escape.
    expect(encodeUtf8Escaped('\u{1f4a9}\udca9')).toEqual(Buffer.from([0xf0, 0x9f, 0x92, 0xa9, 0xa9]));
  });

  it('heredoc bodies keep the escapes (their consumers decide); everything else gets U+FFFD', () => {
    const text = decodeUtf8Escaped(
      bytes(
        'FROM scratch\nCOPY <<"EOF" <<EXP /d/\nJos',
        [0xe9],
        '\nEOF\n\tMal',
        [0xe9],
        '\nEXP\nRUN echo ',
        [0xb1],
        ' <<X\n',
        [0xb0],
        '\nX\n',
      ),
    );
    const result = parseDockerfile(text);
    expect(result.source).not.toMatch(/\p{Cs}/u);
    const [, copy, run] = result.instructions;
    expect(copy?.heredocs.map((h) => [h.name, h.expand, h.content])).toEqual([
      ['EOF', false, 'Jos\udce9\n'],
      ['EXP', true, '\tMal\udce9\n'],
    ]);
    expect(run?.original).toBe('RUN echo \ufffd <<X');
    expect(run?.args.map((a) => a.value)).toEqual(['echo \ufffd <<X']);
    expect(run?.heredocs[0]?.content).toBe('\udcb0\n');
  });
});

/** cli/format-template.ts: the Go-template subset of every --format. */
import { describe, expect, it } from 'vitest';
import { asGoMap, parseTemplate, renderTemplate } from '../../cli/format-template.js';
import { formatEach, formatItems } from '../../cli/format-output.js';

const render = (t: string, data: unknown) => renderTemplate(parseTemplate(t), data);

describe('format-template', () => {
  const data = {
    Name: 'web',
    State: { Status: 'running', Running: true, ExitCode: 0 },
    Args: ['-c', 'echo hi'],
    Labels: asGoMap({ b: '2', a: '1' }),
    Networks: asGoMap({ bridge: { IPAddress: '10.88.0.2' }, other: { IPAddress: '10.89.0.3' } }),
    Empty: [],
    Nil: null,
  };

  it('fields, nested fields and the dot', () => {
    expect(render('{{.Name}} {{.State.Status}} {{.State.Running}} {{.State.ExitCode}}', data)).toBe(
      'web running true 0',
    );
    expect(render('{{.}}', 'x')).toBe('x');
  });

  it("prints as Go's %v: lists, maps sorted, structs, nil", () => {
    expect(render('{{.Args}}|{{.Labels}}|{{.State}}|{{.Nil}}', data)).toBe(
      '[-c echo hi]|map[a:1 b:2]|{running true 0}|<nil>',
    );
  });

  it('json, called and piped; join, upper, lower, index, len, split, title', () => {
    expect(render('{{json .Args}}', data)).toBe('["-c","echo hi"]');
    expect(render('{{.State | json}}', data)).toBe('{"Status":"running","Running":true,"ExitCode":0}');
    expect(render('{{join .Args ","}}', data)).toBe('-c,echo hi');
    expect(render('{{upper .Name}} {{.Name | upper | lower}}', data)).toBe('WEB web');
    expect(render('{{index .Labels "a"}} {{index .Args 1}} {{len .Args}}', data)).toBe('1 echo hi 2');
    expect(render('{{split "a:b" ":"}} {{title "hello world"}}', data)).toBe('[a b] Hello World');
    expect(render('{{printf "%s=%d %q 100%%" .Name .State.ExitCode .Name}}', data)).toBe('web=0 "web" 100%');
    expect(() => render('{{printf "%x" .Name}}', data)).toThrow(/printf: the verb %x is not supported/);
  });

  it('range over lists and maps, with else; if/else', () => {
    expect(render('{{range .Networks}}{{.IPAddress}} {{end}}', data)).toBe('10.88.0.2 10.89.0.3 ');
    expect(render('{{range .Args}}<{{.}}>{{end}}', data)).toBe('<-c><echo hi>');
    expect(render('{{range .Empty}}x{{else}}none{{end}}', data)).toBe('none');
    expect(render('{{if .State.Running}}up{{else}}down{{end}} {{if .Empty}}y{{else}}n{{end}}', data)).toBe(
      'up n',
    );
  });

  it('trims with {{- and -}}', () => {
    expect(render('a  {{- .Name -}}  b', data)).toBe('awebb');
  });

  it("a map's missing key is <no value>, a struct's unknown field an error naming it", () => {
    expect(render('{{.Labels.zzz}}', data)).toBe('<no value>');
    expect(() => render('{{.Nope}}', data)).toThrow(/can't evaluate field Nope/);
    expect(() => render('{{.State.Bogus}}', data)).toThrow(/field Bogus \(in \.State\.Bogus\)/);
  });

  it('refuses unknown functions, variables, unclosed actions and blocks by name', () => {
    expect(() => parseTemplate('{{frobnicate .Name}}')).toThrow(/function "frobnicate" not defined/);
    expect(() => parseTemplate('{{$x = .Name}}')).toThrow(/unexpected "="/);
    expect(() => render('{{$nope}}', data)).toThrow(/undefined variable "\$nope"/);
    expect(() => parseTemplate('{{$a, $b := .Args}}')).toThrow(/too many declarations/);
    expect(() => parseTemplate('{{index ($x := .Args) 0}}')).toThrow(/no variable is declared here/);
    expect(() => parseTemplate('{{(index .Args 0}}')).toThrow(/unclosed left paren/);
    expect(() => parseTemplate('{{.Name)}}')).toThrow(/unexpected "\)"/);
    expect(() => parseTemplate('{{()}}')).toThrow(/missing value/);
    expect(() => parseTemplate('{{.Name')).toThrow(/unclosed action/);
    expect(() => parseTemplate('{{"\\x41"}}')).toThrow(/invalid string/);
    expect(() => parseTemplate('{{range .Args}}x')).toThrow(/without \{\{end\}\}/);
    expect(() => parseTemplate('{{end}}')).toThrow(/unexpected \{\{end\}\}/);
    expect(() => parseTemplate('{{with .Name}}x{{end}}')).toThrow(/\{\{with\}\} is not supported/);
  });

  it("parenthesized pipelines, with fields after the paren, as docker's docs write them", () => {
    const ports = {
      NetworkSettings: {
        Ports: asGoMap({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] }),
      },
    };
    expect(render('{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', ports)).toBe('8080');
    expect(render('{{(index .Args 1)}} {{upper (index .Args 1)}}', data)).toBe('echo hi ECHO HI');
    expect(render('{{printf "%s-%s" (lower .Name) (.State.Status)}}', data)).toBe('web-running');
    expect(render('{{if (len .Args)}}yes{{end}}', data)).toBe('yes');
    expect(render('{{(.State).Status}} {{(.State) | json}}', data)).toMatch(/^running \{"Status"/);
    // `(x) .A` is two operands: the second is an argument, here to a non-function.
    expect(() => render('{{(.State) .Name}}', data)).toThrow(/can't give arguments to a non-function/);
    expect(() => render('{{(.State).Bogus}}', data)).toThrow(/can't evaluate field Bogus/);
  });

  it('variables: range $k, $v := and $v :=, $x := on its own, $ the root, scoped to their block', () => {
    expect(render('{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}', data)).toBe('a=1 b=2 ');
    expect(render('{{range $i, $a := .Args}}{{$i}}:{{$a}},{{end}}', data)).toBe('0:-c,1:echo hi,');
    expect(render('{{range $a := .Args}}[{{$a}}|{{.}}]{{end}}', data)).toBe('[-c|-c][echo hi|echo hi]');
    expect(render('{{range .Args}}{{$.Name}}:{{.}} {{end}}', data)).toBe('web:-c web:echo hi ');
    expect(render('{{range $n, $net := .Networks}}{{$n}}={{$net.IPAddress}} {{end}}', data)).toBe(
      'bridge=10.88.0.2 other=10.89.0.3 ',
    );
    expect(render('{{$n := .Name}}{{range .Args}}{{$n}}{{end}}', data)).toBe('webweb');
    expect(render('{{if $s := .State.Status}}{{$s}}{{end}}', data)).toBe('running');
    expect(render('{{$}}', 'root')).toBe('root');
    // What a block declares ends with it.
    expect(() => render('{{range $a := .Args}}{{end}}{{$a}}', data)).toThrow(/undefined variable "\$a"/);
  });

  it('table: headers from the names, \\t aligned as tabwriter (pad 3, min 10)', () => {
    const out = formatItems(
      'table {{.A}}\\t{{.B}}',
      [
        { A: 'x', B: 'y' },
        { A: 'longer value', B: 'z' },
      ],
      { A: 'AA', B: 'BB' },
    );
    expect(out).toBe('AA             BB\nx              y\nlonger value   z\n');
    expect(formatItems('{{.A}}', [{ A: 1 }, { A: 2 }])).toBe('1\n2\n');
    expect(() => formatItems('table {{.A}}', [])).toThrow(/table format is not supported here/);
  });

  it('else if, as Go: the first true branch; text after else or end is refused', () => {
    const t = '{{if .A}}a{{else if .B}}b{{else if .C}}c{{else}}none{{end}}';
    expect(render(t, { A: false, B: false, C: true })).toBe('c');
    expect(render(t, { A: false, B: 1, C: true })).toBe('b');
    expect(render(t, { A: false, B: 0, C: '' })).toBe('none');
    expect(render('{{if .A}}a{{else if .B}}b{{end}}', { A: false, B: false })).toBe('');
    expect(() => parseTemplate('{{if .A}}{{end junk}}')).toThrow(/unexpected "junk" in \{\{end\}\}/);
    expect(() => parseTemplate('{{range .A}}{{else if .B}}{{end}}')).toThrow(
      /not allowed in a \{\{range\}\}/,
    );
  });

  it("reads the data's own fields only: a JS prototype's are fields it lacks", () => {
    expect(() => render('{{.valueOf}}', { A: 1 })).toThrow(/can't evaluate field valueOf/);
    expect(() => render('{{.toString}}', { A: 1 })).toThrow(/can't evaluate field toString/);
    expect(render('{{index .M "constructor"}} {{.M.constructor}}', { M: asGoMap({ a: '1' }) })).toBe(
      '<no value> <no value>',
    );
  });

  it("a method used as an operand is called bare (Go's wrong number of args); methods are not printed", () => {
    const item = {
      Name: 'n',
      Label: (...args: unknown[]) => (args.length === 1 ? `v-${String(args[0])}` : 'bare'),
    };
    expect(render('{{upper .Label}} {{.Label "k"}}', item)).toBe('BARE v-k');
    expect(render('{{.}}', item)).toBe('{n}');
  });

  it("inspect's -f: each item's line, the text as given (no table, no tabs made, no columns)", () => {
    expect(formatEach('{{.A}}\\t{{.B}}', [{ A: 'x', B: 'y' }])).toBe('x\\ty\n');
    expect(formatEach('table {{.A}}', [{ A: 1 }, { A: 2 }])).toBe('table 1\ntable 2\n');
  });
});

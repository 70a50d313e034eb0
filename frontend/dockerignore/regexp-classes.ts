/**
 * Character classes of Go's regexp syntax: the Perl classes (`\d \s \w`), the POSIX classes
 * (`[:alpha:]`) and the one-letter Unicode categories (`\pL`), as code point tests.
 */

export type CharTest = (cp: number) => boolean;
export type Range = readonly [number, number];

export const ch = (c: string): number => c.charCodeAt(0);
const WORD: readonly Range[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
export const PERL_GROUPS = new Map<number, readonly Range[]>([
  [ch('d'), [[0x30, 0x39]]],
  [
    ch('s'),
    [
      [0x09, 0x0a],
      [0x0c, 0x0d],
      [0x20, 0x20],
    ],
  ],
  [ch('w'), WORD],
]);
export const POSIX_GROUPS = new Map<string, readonly Range[]>([
  [
    'alnum',
    [
      [0x30, 0x39],
      [0x41, 0x5a],
      [0x61, 0x7a],
    ],
  ],
  [
    'alpha',
    [
      [0x41, 0x5a],
      [0x61, 0x7a],
    ],
  ],
  ['ascii', [[0x00, 0x7f]]],
  [
    'blank',
    [
      [0x09, 0x09],
      [0x20, 0x20],
    ],
  ],
  [
    'cntrl',
    [
      [0x00, 0x1f],
      [0x7f, 0x7f],
    ],
  ],
  ['digit', [[0x30, 0x39]]],
  ['graph', [[0x21, 0x7e]]],
  ['lower', [[0x61, 0x7a]]],
  ['print', [[0x20, 0x7e]]],
  [
    'punct',
    [
      [0x21, 0x2f],
      [0x3a, 0x40],
      [0x5b, 0x60],
      [0x7b, 0x7e],
    ],
  ],
  [
    'space',
    [
      [0x09, 0x0d],
      [0x20, 0x20],
    ],
  ],
  ['upper', [[0x41, 0x5a]]],
  ['word', WORD],
  [
    'xdigit',
    [
      [0x30, 0x39],
      [0x41, 0x46],
      [0x61, 0x66],
    ],
  ],
]);
// Unicode classes (`\pL`, `\p{Greek}`) as Go 1.25+ names them: a name is looked up after
// canonicalisation (ASCII letters: first upper-case, the rest lower-case; '_', '-' and ' '
// dropped) among the special names, the general categories, the scripts (whose canonical
// form is their Go key, that is one-word scripts) and the category aliases.
const CATEGORIES = new Set(
  'C Cc Cf Cn Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
);
const SCRIPTS = new Set(
  (
    'Adlam Ahom Arabic Armenian Avestan Balinese Bamum Batak Bengali Bhaiksuki Bopomofo Brahmi Braille ' +
    'Buginese Buhid Carian Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot Cyrillic ' +
    'Deseret Devanagari Dogra Duployan Elbasan Elymaic Ethiopic Georgian Glagolitic Gothic Grantha ' +
    'Greek Gujarati Gurmukhi Han Hangul Hanunoo Hatran Hebrew Hiragana Inherited Javanese Kaithi ' +
    'Kannada Katakana Kawi Kharoshthi Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Lisu Lycian ' +
    'Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen Medefaidrin Miao Modi Mongolian ' +
    'Mro Multani Myanmar Nabataean Nandinagari Newa Nko Nushu Ogham Oriya Osage Osmanya Palmyrene ' +
    'Phoenician Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham Sinhala Sogdian Soyombo ' +
    'Sundanese Syriac Tagalog Tagbanwa Takri Tamil Tangsa Tangut Telugu Thaana Thai Tibetan ' +
    'Tifinagh Tirhuta Toto Ugaritic Vai Vithkuqi Wancho Yezidi Yi'
  ).split(' '),
);
const CATEGORY_ALIASES = new Map(
  Object.entries({
    Other: 'C',
    Control: 'Cc',
    Cntrl: 'Cc',
    Format: 'Cf',
    Unassigned: 'Cn',
    Privateuse: 'Co',
    Surrogate: 'Cs',
    Letter: 'L',
    Casedletter: 'LC',
    Lowercaseletter: 'Ll',
    Modifierletter: 'Lm',
    Otherletter: 'Lo',
    Titlecaseletter: 'Lt',
    Uppercaseletter: 'Lu',
    Mark: 'M',
    Combiningmark: 'M',
    Spacingmark: 'Mc',
    Enclosingmark: 'Me',
    Nonspacingmark: 'Mn',
    Number: 'N',
    Decimalnumber: 'Nd',
    Digit: 'Nd',
    Letternumber: 'Nl',
    Othernumber: 'No',
    Punctuation: 'P',
    Punct: 'P',
    Connectorpunctuation: 'Pc',
    Dashpunctuation: 'Pd',
    Closepunctuation: 'Pe',
    Finalpunctuation: 'Pf',
    Initialpunctuation: 'Pi',
    Otherpunctuation: 'Po',
    Openpunctuation: 'Ps',
    Symbol: 'S',
    Currencysymbol: 'Sc',
    Modifiersymbol: 'Sk',
    Mathsymbol: 'Sm',
    Othersymbol: 'So',
    Separator: 'Z',
    Lineseparator: 'Zl',
    Paragraphseparator: 'Zp',
    Spaceseparator: 'Zs',
  }),
);
const unicodeTests = new Map<string, CharTest>();

function canonicalName(name: string): string {
  let out = '';
  for (const c of name) {
    if (c === '_' || c === '-' || c === ' ') continue;
    out +=
      out === '' ? c.replace(/[a-z]/, (l) => l.toUpperCase()) : c.replace(/[A-Z]/, (l) => l.toLowerCase());
  }
  return out;
}

/** A code point test from a JavaScript `u`-mode class such as `\p{Script=Greek}`. */
function propertyTest(body: string): CharTest | undefined {
  try {
    const re = new RegExp(`^${body}$`, 'u');
    return (cp) => re.test(String.fromCodePoint(cp));
  } catch {
    return undefined;
  }
}

function lookUpUnicodeClass(name: string): CharTest | undefined {
  if (name === 'Any') return () => true;
  if (name === 'Ascii') return (cp) => cp <= 0x7f;
  if (name === 'Assigned') return propertyTest('\\p{Assigned}');
  const category = name === 'Lc' ? 'LC' : CATEGORIES.has(name) ? name : CATEGORY_ALIASES.get(name);
  // Go's C table holds Cc, Cf, Co and Cs but not the unassigned code points.
  if (category === 'C') return propertyTest('[\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}]');
  if (category !== undefined) return propertyTest(`\\p{General_Category=${category}}`);
  return SCRIPTS.has(name) ? propertyTest(`\\p{Script=${name}}`) : undefined;
}

/** The test for `\p{name}` (before any '^' negation), or undefined when Go knows no such class. */
export function unicodeClass(name: string): CharTest | undefined {
  const canonical = canonicalName(name);
  let test = unicodeTests.get(canonical);
  if (test === undefined) {
    test = lookUpUnicodeClass(canonical);
    if (test !== undefined) unicodeTests.set(canonical, test); // only known names: the cache stays small
  }
  return test;
}

export function inRanges(ranges: readonly Range[], cp: number): boolean {
  for (const [lo, hi] of ranges) if (cp >= lo && cp <= hi) return true;
  return false;
}

export function classTest(ranges: readonly Range[], tests: readonly CharTest[], negated: boolean): CharTest {
  return (cp) => (inRanges(ranges, cp) || tests.some((test) => test(cp))) !== negated;
}

/**
 * The names `\p{…}` accepts in Go 1.25+'s regexp syntax, and how to say the same class to
 * re2js (whose parser follows older Go: case-sensitive names, no aliases, no `ASCII` or
 * `Assigned`, and a `C` that also holds the unassigned code points, which Go's does not).
 *
 * Go 1.25 looks a name up after canonicalisation (ASCII letters: first upper-case, the rest
 * lower-case; '_', '-' and ' ' dropped) among the special names, the general categories, the
 * scripts (whose canonical form is their Go key, that is one-word scripts) and the category
 * aliases.
 */

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

/** A class as re2js reads it, as text that stands for a set of members inside `[...]`. */
interface Members {
  readonly positive: string;
  readonly negative: string;
}

/** Go's C (Cc, Cf, Co, Cs); its complement is every other category, the unassigned included. */
const OTHER: Members = {
  positive: '\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}',
  negative: '\\pL\\pM\\pN\\pP\\pS\\pZ\\p{Cn}',
};
const SPECIAL = new Map<string, Members>([
  ['Any', { positive: '\\p{Any}', negative: '\\P{Any}' }],
  ['Ascii', { positive: '[:ascii:]', negative: '[:^ascii:]' }],
  ['Assigned', { positive: '\\P{Cn}', negative: '\\p{Cn}' }],
  ['C', OTHER],
]);

function canonicalName(name: string): string {
  let out = '';
  for (const c of name) {
    if (c === '_' || c === '-' || c === ' ') continue;
    out +=
      out === '' ? c.replace(/[a-z]/, (l) => l.toUpperCase()) : c.replace(/[A-Z]/, (l) => l.toLowerCase());
  }
  return out;
}

function lookUp(canonical: string): Members | undefined {
  const special = SPECIAL.get(canonical);
  if (special !== undefined) return special;
  const category =
    canonical === 'Lc' ? 'LC' : CATEGORIES.has(canonical) ? canonical : CATEGORY_ALIASES.get(canonical);
  const name = category ?? (SCRIPTS.has(canonical) ? canonical : undefined);
  if (name === undefined) return undefined;
  return SPECIAL.get(name) ?? { positive: `\\p{${name}}`, negative: `\\P{${name}}` };
}

/**
 * re2js class members for Go's `\p{name}` (`negated` for `\P`; a leading '^' in the name
 * negates too), or undefined when Go knows no such class.
 */
export function unicodeClassMembers(name: string, negated: boolean): string | undefined {
  const inverted = name.startsWith('^');
  // Go reads no name longer than that (as our earlier engine did: 63 code points with the '^').
  const members = [...name].length > 63 ? undefined : lookUp(canonicalName(inverted ? name.slice(1) : name));
  if (members === undefined) return undefined;
  return negated !== inverted ? members.negative : members.positive;
}

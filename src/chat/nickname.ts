/**
 * Nicknames people cannot impersonate each other with (issue 11 item 12).
 *
 * Three steps, after Unicode TR39 (Security Mechanisms):
 *  1. NFKC normalisation (UAX #15): fullwidth "Ａｌｉｃｅ", ligatures and
 *     compatibility forms become their plain letters, so what is compared and
 *     shown is one canonical spelling.
 *  2. Script restriction (TR39 section 5.2, "highly restrictive"): letters come
 *     from one script, or from one of the CJK combinations TR39 allows
 *     (Han + Hiragana + Katakana, Han + Hangul, Han + Bopomofo, each optionally
 *     with Latin). "Аlice" with a Cyrillic А is refused here.
 *  3. Confusable skeletons (TR39 section 4): two nicknames whose skeletons match
 *     look alike, and the second is refused in a room that has the first.
 *     The table below is deliberately SMALL and honest: it covers the Cyrillic
 *     and Greek letters that look like Basic Latin letters, capital I / digit 1
 *     / l, digit 0 / o, and the multi-letter look-alikes "rn" -> "m" and
 *     "vv" -> "w". It is not the full confusables.txt (which has ~6,000 entries,
 *     e.g. mathematical alphanumerics, which NFKC already folds, and Cherokee).
 */

/** Single characters (after NFKC) that look like a Latin letter or digit: char -> Latin lower-case. */
// biome-ignore format: a table reads best in rows
const CONFUSABLE: Record<string, string> = {
  // Cyrillic capitals and small letters that render like Latin ones.
  А: 'a', а: 'a', В: 'b', Ь: 'b', С: 'c', с: 'c', ԁ: 'd', Е: 'e', е: 'e', Һ: 'h', һ: 'h', Н: 'h',
  І: 'l', і: 'i', Ј: 'j', ј: 'j', К: 'k', Ӏ: 'l', ӏ: 'l', М: 'm', О: 'o', о: 'o', Р: 'p', р: 'p',
  Ԛ: 'q', ԛ: 'q', Ѕ: 's', ѕ: 's', Т: 't', Ү: 'y', у: 'y', Х: 'x', х: 'x', Ԝ: 'w', ԝ: 'w',
  // Greek.
  Α: 'a', α: 'a', Β: 'b', Ε: 'e', Ζ: 'z', Η: 'h', Ι: 'l', ι: 'i', Κ: 'k', κ: 'k', Μ: 'm',
  Ν: 'n', ν: 'v', Ο: 'o', ο: 'o', Ρ: 'p', ρ: 'p', Τ: 't', Υ: 'y', υ: 'u', Χ: 'x', χ: 'x', ϲ: 'c',
  // Latin and digits that are confused with each other in common fonts.
  I: 'l', '1': 'l', '|': 'l', '0': 'o',
};

/** Sequences that look like one letter; applied after the single characters. */
const CONFUSABLE_SEQUENCES: Array<[RegExp, string]> = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
];

/** Scripts told apart for the mixed-script rule; letters in none of them count as "Other". */
// biome-ignore format: a list reads best in rows
const SCRIPTS = [
  'Latin', 'Greek', 'Cyrillic', 'Armenian', 'Hebrew', 'Arabic', 'Devanagari', 'Bengali', 'Gurmukhi',
  'Gujarati', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala', 'Thai', 'Lao', 'Tibetan', 'Myanmar',
  'Georgian', 'Hangul', 'Ethiopic', 'Cherokee', 'Khmer', 'Mongolian', 'Hiragana', 'Katakana', 'Bopomofo',
  'Han',
].map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u')] as const);

/** TR39 "highly restrictive": script sets allowed together (besides a single script). */
const ALLOWED_COMBINATIONS = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Hangul']),
  new Set(['Latin', 'Han', 'Bopomofo']),
];

function scriptOf(char: string): string | undefined {
  if (!/\p{L}|\p{N}/u.test(char) || /^[0-9]$/.test(char)) return undefined; // Common: digits, "_", "-", ".", space
  for (const [name, pattern] of SCRIPTS) if (pattern.test(char)) return name;
  return /\p{Script=Common}|\p{Script=Inherited}/u.test(char) ? undefined : 'Other';
}

/** The scripts a nickname's letters come from (Common characters excluded). */
export function scriptsOf(nick: string): Set<string> {
  const scripts = new Set<string>();
  for (const char of nick) {
    const script = scriptOf(char);
    if (script) scripts.add(script);
  }
  return scripts;
}

/** Whether the scripts may be mixed in one nickname. */
export function isSingleScript(nick: string): boolean {
  const scripts = scriptsOf(nick);
  if (scripts.size <= 1) return true;
  return ALLOWED_COMBINATIONS.some((allowed) => [...scripts].every((s) => allowed.has(s)));
}

/** The TR39-style skeleton: equal skeletons look alike. */
export function skeleton(nick: string): string {
  let out = '';
  for (const char of nick.normalize('NFKC')) out += CONFUSABLE[char] ?? char.toLowerCase();
  for (const [pattern, replacement] of CONFUSABLE_SEQUENCES) out = out.replace(pattern, replacement);
  return out;
}

/** What a room compares nicknames by: the case-folded spelling and the skeleton. */
export interface NickKeys {
  folded: string;
  skeleton: string;
}

export function nickKeys(nick: string): NickKeys {
  return { folded: nick.normalize('NFKC').toLowerCase(), skeleton: skeleton(nick) };
}

export function looksAlike(a: NickKeys, b: NickKeys): boolean {
  return a.folded === b.folded || a.skeleton === b.skeleton;
}

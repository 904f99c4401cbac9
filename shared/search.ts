// Text as the dashboard's search compares it. The tracker stores it folded when it writes the text, and folds the
// query the same way: SQLite's lower() folds ASCII letters only (sqlite.org/faq.html#q18; D1 loads no ICU to do more:
// cloudflare/workers-sdk issue 5728, "D1 - support Unicode", open since 2024-04-30), so lower('Émilie') is 'Émilie' and
// the search cannot fold the stored text itself.

/**
 * What NFKD splits off a letter's accents into: the combining diacritical marks, U+0300 to U+036F (acute, grave,
 * circumflex, diaeresis, cedilla, ring, caron, tilde…). Only this block, not `\p{Diacritic}`: that one takes `^` and
 * `` ` `` from ASCII too (which would make a folded ASCII text differ from its lower(), as migration 0018 needs it not
 * to), and the marks of scripts whose words change without them (Devanagari's vowel signs, the Japanese long vowel ー).
 */
const COMBINING_ACCENTS = /[\u0300-\u036f]/g;

/**
 * Lower-cased, without accents, compatibility forms made plain: "Émilie", "émilie", "EMILIE" and "emilie" all give
 * "emilie", so a rep who types a name without its accents (or with them, whatever the case) finds it. NFKD rather than
 * NFD: a full-width "ＡＢＣ" from a Japanese keyboard, or the ligature "ﬁ", folds to the letters one types. Locale-free
 * (toLowerCase, not toLocaleLowerCase): the text and the query fold alike wherever they are folded. An ASCII text folds
 * to its lower-case, exactly as SQLite's lower() gives it (migration 0018 folds the stored ASCII texts in SQL).
 */
export function foldForSearch(text: string): string {
  return text.normalize("NFKD").replace(COMBINING_ACCENTS, "").toLowerCase();
}

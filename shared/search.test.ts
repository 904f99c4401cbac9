import { describe, expect, it } from "vitest";
import { foldForSearch } from "./search";

describe("foldForSearch", () => {
  it("gives a name the same text whatever its case and accents, typed composed or not", () => {
    for (const spelling of ["Émilie", "émilie", "EMILIE", "emilie", "E\u0301milie", "ÉMILIE"])
      expect(foldForSearch(spelling), spelling).toBe("emilie");
    expect(foldForSearch("Jörg Müller-Ibáñez, Ångström Ça Øre")).toBe("jorg muller-ibanez, angstrom ca øre");
    expect(foldForSearch("İstanbul ΆΝΝΑ")).toBe("istanbul αννα");
    // Compatibility forms: full-width letters and a ligature fold to the letters one types.
    expect(foldForSearch("ＡＢＣ ﬁle ％")).toBe("abc file %");
  });

  it("folds an ASCII text to its lower case, as SQLite's lower() does: migration 0018 folds those in SQL", () => {
    const ascii = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)).join("");
    const sqliteLower = ascii.replace(/[A-Z]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 32));
    expect(foldForSearch(ascii)).toBe(sqliteLower);
  });

  it("keeps the marks of scripts whose words change without them", () => {
    expect(foldForSearch("हिन्दी コーヒー")).toBe("हिन्दी コーヒー");
  });
});

import { describe, expect, it } from "vitest";
import { foldAddress, mailboxKey } from "./email";

describe("mailboxKey", () => {
  it("takes a Gmail address's dots, +tag and googlemail.com away: each spelling is the one mailbox", () => {
    for (const spelling of [
      "john.doe@gmail.com",
      "johndoe@gmail.com",
      "John.Doe+work@gmail.com",
      "john.doe@googlemail.com",
      " J.O.H.N.D.O.E+a+b@GoogleMail.com ",
    ])
      expect(mailboxKey(spelling), spelling).toBe("johndoe@gmail.com");
  });

  it("takes only the +tag away elsewhere: dots are part of a company's address", () => {
    expect(mailboxKey("Anne.Smith+Newsletter@Acme.example")).toBe("anne.smith@acme.example");
    expect(mailboxKey("anne.smith@acme.example")).toBe("anne.smith@acme.example");
    expect(mailboxKey("annesmith@acme.example")).toBe("annesmith@acme.example");
    // Yahoo's "-" and other separators are names, not tags.
    expect(mailboxKey("anne-marie@yahoo.com")).toBe("anne-marie@yahoo.com");
    // Not Gmail: a subdomain or a look-alike keeps its dots.
    expect(mailboxKey("j.doe@mail.gmail.com")).toBe("j.doe@mail.gmail.com");
    expect(mailboxKey("j.doe@gmail.co")).toBe("j.doe@gmail.co");
  });

  it("keeps an address it cannot split as it is", () => {
    expect(mailboxKey("+tag@acme.example")).toBe("+tag@acme.example");
    expect(mailboxKey("+tag@gmail.com")).toBe("+tag@gmail.com");
    expect(mailboxKey("no-at-sign")).toBe("no-at-sign");
    expect(mailboxKey("jörg+x@münchen.de")).toBe("jörg@xn--mnchen-3ya.de");
  });
});

describe("foldAddress", () => {
  const nfd = (text: string) => text.normalize("NFD");

  it("gives a Unicode domain its punycode, whichever way it came", () => {
    for (const spelling of [
      "jörg@münchen.de",
      "jörg@xn--mnchen-3ya.de",
      "JÖRG@MÜNCHEN.DE",
      "jörg@XN--MNCHEN-3YA.DE",
      nfd("jörg@münchen.de"),
    ])
      expect(foldAddress(spelling), spelling).toBe("jörg@xn--mnchen-3ya.de");
    // UTS #46 non-transitional, as URL has it: ß is kept (encoded), not made "ss".
    expect(foldAddress("anne@straße.de")).toBe("anne@xn--strae-oqa.de");
    // Full-width letters and the ideographic full stop are mapped, as a browser maps them in a URL.
    expect(foldAddress("anne@ｅｘａｍｐｌｅ。com")).toBe("anne@example.com");
  });

  it("puts the local part in NFC, not NFKC", () => {
    const composed = "ren\u00e9@acme.example";
    expect(composed).not.toBe(nfd(composed));
    expect(foldAddress(nfd(composed))).toBe(composed);
    expect(foldAddress(composed)).toBe(composed);
    // Full-width letters in the local part are the receiving server's to tell apart: kept.
    expect(foldAddress("ｊｏｅ@acme.example")).toBe("ｊｏｅ@acme.example");
  });

  it("lower-cases and trims as normalizeEmail does, and leaves an ASCII domain as it is", () => {
    expect(foldAddress("  Anne.Smith+News@Acme.EXAMPLE ")).toBe("anne.smith+news@acme.example");
    expect(foldAddress("user@xn--80ak6aa92e.xn--p1ai")).toBe("user@xn--80ak6aa92e.xn--p1ai");
    // An invalid punycode label in ASCII: kept, not thrown on.
    expect(foldAddress("user@xn--zz.example")).toBe("user@xn--zz.example");
  });

  it("keeps a domain URL refuses, and an address literal, as it is (lower-cased) rather than throwing", () => {
    // A space and a forbidden host character beside non-ASCII ones: URL throws on these.
    expect(foldAddress("jörg@mün chen.de")).toBe("jörg@mün chen.de");
    expect(foldAddress("jörg@mün<chen.de")).toBe("jörg@mün<chen.de");
    // An invalid punycode label beside a Unicode one.
    expect(foldAddress("JÖRG@xn--zz.münchen.de")).toBe("jörg@xn--zz.münchen.de");
    // Characters URL would read as a user, a port or a path are never handed to it.
    expect(foldAddress("jörg@münchen.de:25")).toBe("jörg@münchen.de:25");
    expect(foldAddress("jörg@evil.example/münchen.de")).toBe("jörg@evil.example/münchen.de");
    // Address literals (RFC 5321 §4.1.3).
    expect(foldAddress("Root@[192.0.2.1]")).toBe("root@[192.0.2.1]");
    expect(foldAddress("jörg@[IPv6:2001:DB8::1]")).toBe("jörg@[ipv6:2001:db8::1]");
  });

  it("folds what it can split, and keeps the rest", () => {
    expect(foldAddress("@münchen.de")).toBe("@xn--mnchen-3ya.de");
    expect(foldAddress("jörg@")).toBe("jörg@");
    expect(foldAddress("")).toBe("");
    expect(foldAddress(nfd("no-at-sign-é"))).toBe("no-at-sign-é");
  });

  it("makes mailboxKey one key for every spelling of a mailbox", () => {
    expect(mailboxKey(nfd("René+news@München.de"))).toBe(mailboxKey("rené@xn--mnchen-3ya.de"));
    // Gmail's rules apply once the domain is folded.
    expect(mailboxKey("j.doe@ｇｍａｉｌ.com")).toBe("jdoe@gmail.com");
  });
});

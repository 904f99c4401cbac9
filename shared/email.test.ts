import { describe, expect, it } from "vitest";
import { mailboxKey } from "./email";

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
    expect(mailboxKey("jörg+x@münchen.de")).toBe("jörg@münchen.de");
  });
});

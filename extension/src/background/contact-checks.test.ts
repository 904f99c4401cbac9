// The compose window's recipient checks: asked once per address within a lifetime, lower-cased, and only for
// addresses the tracker accepts.
import { describe, expect, it, vi } from "vitest";
import type { ContactCheck } from "../../../shared/api";
import { ContactCheckCache } from "./contact-checks";

describe("ContactCheckCache", () => {
  it("asks once per address within its lifetime, lower-cased, and again after it", async () => {
    let now = 0;
    const cache = new ContactCheckCache(1000, () => now);
    const fetchChecks = vi.fn(
      async (emails: string[]): Promise<ContactCheck[]> =>
        emails.map((email) => ({
          email,
          suppressed: email.startsWith("gone"),
          bounceKind: email.startsWith("gone") ? "hard" : null,
          optedOut: false,
        })),
    );
    expect((await cache.get(["Gone@A.example", "ok@a.example"], fetchChecks)).map((c) => c.suppressed)).toEqual([true, false]);
    await cache.get(["gone@a.example", "new@a.example"], fetchChecks);
    expect(fetchChecks.mock.calls).toEqual([[["gone@a.example", "ok@a.example"]], [["new@a.example"]]]);
    now = 2000;
    await cache.get(["ok@a.example"], fetchChecks);
    expect(fetchChecks).toHaveBeenCalledTimes(3);
    // A bounce recorded for an address: its answer is asked for again at once.
    cache.invalidate(["OK@a.example"]);
    await cache.get(["ok@a.example"], fetchChecks);
    expect(fetchChecks).toHaveBeenCalledTimes(4);
  });

  it("sends only addresses the tracker accepts (one it refuses would fail the whole batch)", async () => {
    const cache = new ContactCheckCache();
    const fetchChecks = vi.fn(
      async (emails: string[]): Promise<ContactCheck[]> =>
        emails.map((email) => ({ email, suppressed: false, bounceKind: null, optedOut: false })),
    );
    await cache.get(["jörg@münchen.de", "not an address", "two words@x.com", `${"x".repeat(320)}@y.example`, "ok@a.example"], fetchChecks);
    expect(fetchChecks.mock.calls).toEqual([[["jörg@münchen.de", "ok@a.example"]]]);
  });

  it("keeps one answer per address whatever its spelling, and a bounce named in one spelling makes all of them stale", async () => {
    const cache = new ContactCheckCache();
    let suppressed = false;
    const fetchChecks = vi.fn(
      async (emails: string[]): Promise<ContactCheck[]> =>
        emails.map((email) => ({ email, suppressed, bounceKind: suppressed ? "hard" : null, optedOut: false })),
    );
    expect(await cache.get(["jörg@münchen.de"], fetchChecks)).toEqual([
      { email: "jörg@münchen.de", suppressed: false, bounceKind: null, optedOut: false },
    ]);
    suppressed = true;
    // The notice named the punycode spelling: the compose's Unicode one is asked for again.
    cache.invalidate(["jörg@xn--mnchen-3ya.de"]);
    const nfd = "jörg@münchen.de".normalize("NFD");
    expect(await cache.get(["jörg@münchen.de", nfd], fetchChecks)).toEqual([
      { email: "jörg@münchen.de", suppressed: true, bounceKind: "hard", optedOut: false },
      { email: nfd, suppressed: true, bounceKind: "hard", optedOut: false },
    ]);
    // Asked once for both spellings.
    expect(fetchChecks.mock.calls).toEqual([[["jörg@münchen.de"]], [["jörg@münchen.de"]]]);
  });

  /** A tracker whose first answer waits for `release`. */
  const firstAnswerHeld = () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fetchChecks = vi.fn(async (emails: string[]): Promise<ContactCheck[]> => {
      if (fetchChecks.mock.calls.length === 1) await held;
      return emails.map((email) => ({ email, suppressed: true, bounceKind: "hard", optedOut: false }));
    });
    return { fetchChecks, release };
  };

  it("keeps no answer asked before a bounce was recorded and come after it, and gives it to its caller", async () => {
    const cache = new ContactCheckCache();
    const { fetchChecks, release } = firstAnswerHeld();
    const before = cache.get(["a@a.example"], fetchChecks);
    cache.invalidate(["a@a.example"]);
    release();
    expect((await before).map((check) => check.email)).toEqual(["a@a.example"]);
    // Asked again: the answer that came after the change was not kept.
    await cache.get(["a@a.example"], fetchChecks);
    expect(fetchChecks).toHaveBeenCalledTimes(2);
  });

  it("gives no answer asked before a switch of account and come after it, to its caller either: it was the account's before", async () => {
    const cache = new ContactCheckCache();
    const { fetchChecks, release } = firstAnswerHeld();
    const before = cache.get(["a@a.example", "b@b.example"], fetchChecks);
    cache.clear();
    // Asked after the switch, for the account connected now: that answer stands.
    expect((await cache.get(["b@b.example"], fetchChecks)).map((check) => check.email)).toEqual(["b@b.example"]);
    release();
    expect((await before).map((check) => check.email)).toEqual(["b@b.example"]);
    // Asked again: the answer that came after the switch was not kept either.
    await cache.get(["a@a.example"], fetchChecks);
    expect(fetchChecks).toHaveBeenCalledTimes(3);
  });
});

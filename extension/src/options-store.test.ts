import { describe, expect, it, vi } from "vitest";

// webextension-polyfill refuses to load outside an extension; these tests use only pure functions of modules that
// import it, so an extension id is enough to let the import through (no extension API is called).
vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import {
  DEFAULT_OPTIONS,
  hostMatchesDomains,
  linksTracked,
  migrate,
  normalizeTrackerUrl,
  outOfRecipientsReach,
  parseDomainList,
  readCampaignDays,
  readDays,
  readDomainList,
  trackerNotice,
  trackerUrls,
  withTracker,
} from "./options-store";
import { REP_OPTIONS } from "./options-store.test-support";

describe("options store", () => {
  it("gives defaults for nothing stored, and migrates v1 (one switch, comma-separated domains)", () => {
    expect(migrate(undefined)).toEqual(DEFAULT_OPTIONS);
    expect(migrate({ trackByDefault: false, excludedDomains: "Acme.com, @sales.acme.com" })).toMatchObject({
      openTrackingByDefault: false,
      clickTrackingByDefault: false,
      excludedRecipientDomains: ["acme.com", "sales.acme.com"],
    });
    expect(migrate({ version: 2, trackerUrl: "javascript:alert(1)", debug: "yes" })).toMatchObject({
      trackerUrl: DEFAULT_OPTIONS.trackerUrl,
      debug: false,
    });
  });

  it("keeps the opt-out link off by default with a default wording; a blank wording falls back to it", () => {
    expect(DEFAULT_OPTIONS.optOutLinkByDefault).toBe(false);
    expect(migrate({ version: 2, optOutLinkByDefault: true, optOutText: "  Stop these  " })).toMatchObject({
      optOutLinkByDefault: true,
      optOutText: "Stop these",
    });
    expect(migrate({ version: 2, optOutText: "   " }).optOutText).toBe(DEFAULT_OPTIONS.optOutText);
    // The former default promised an unsubscribe; stored with every save, it gives way to the honest wording.
    expect(migrate({ version: 2, optOutText: "Unsubscribe from these emails" }).optOutText).toBe("Don't track my opens and clicks");
  });

  it("keeps follow-up waits of 1 to 365 whole days, per campaign too, and drops the rest", () => {
    expect(DEFAULT_OPTIONS.followUpDays).toBe(3);
    expect(migrate({ version: 2, followUpDays: 0 }).followUpDays).toBe(3);
    expect(migrate({ version: 2, followUpDays: "5" }).followUpDays).toBe(5);
    expect(migrate({ version: 2, followUpDaysByCampaign: { Webinar: 7, " Q4 ": "2", bad: 1.5, "": 3 } }).followUpDaysByCampaign).toEqual({
      Webinar: 7,
      Q4: 2,
    });
  });

  it("keeps the trackers connected before, the current one first in the list, each once and the newest five", () => {
    const moved = migrate({
      version: 2,
      ...withTracker(migrate({ version: 2, trackerUrl: "https://mt.rep.workers.dev" }), "https://track.acme.example"),
    });
    expect(trackerUrls(moved)).toEqual(["https://track.acme.example", "https://mt.rep.workers.dev"]);
    // Connecting again to the same tracker, or first from a fresh install's local default, keeps nothing more.
    expect(migrate({ version: 2, ...withTracker(moved, "https://track.acme.example") })).toEqual(moved);
    expect(withTracker(DEFAULT_OPTIONS, "https://track.acme.example").earlierTrackerUrls).toEqual([]);
    // Back to an earlier tracker: it is the current one, not an earlier one too.
    expect(trackerUrls(migrate({ version: 2, ...withTracker(moved, "https://mt.rep.workers.dev") }))).toEqual([
      "https://mt.rep.workers.dev",
      "https://track.acme.example",
    ]);
    const stored = [
      "t1.example/",
      "not a url",
      7,
      "https://t1.example",
      ...["t2", "t3", "t4", "t5", "t6"].map((t) => `https://${t}.example`),
    ];
    expect(migrate({ version: 2, trackerUrl: "https://t6.example", earlierTrackerUrls: stored }).earlierTrackerUrls).toEqual(
      ["t1", "t2", "t3", "t4", "t5"].map((t) => `https://${t}.example`),
    );
    expect(migrate({ version: 2, earlierTrackerUrls: "https://t1.example" }).earlierTrackerUrls).toEqual([]);
  });

  // Hosts as typed; new URL() gives some of them in another spelling (options-store.ts privateHost).
  const outOfReach = [
    "http://127.0.0.1:8787",
    "http://127.255.255.254",
    "http://0x7f.1:8787",
    "http://localhost:8787",
    "http://localhost.:8787",
    "http://[::1]:8787",
    "http://0.0.0.0:8787",
    "http://10.0.0.5",
    "http://172.16.0.1",
    "http://172.31.255.255",
    "http://192.168.1.20:8787",
    "http://100.64.0.1:8787",
    "http://100.127.255.254",
    "http://169.254.1.1",
    "http://[fe80::1]:8787",
    "http://[febf::1]",
    "http://[fc00::1]",
    "http://[fd12:3456::1]:8787",
    "http://[::]",
    "http://[::ffff:10.0.0.1]:8787",
    "http://[::ffff:127.0.0.1]",
    "http://[0:0:0:0:0:ffff:c0a8:114]",
    "http://[::ffff:100.64.0.1]",
    "https://box.tail1234.ts.net",
    "http://printer.local:8787",
    "http://tracker.internal",
    "http://nas.home.arpa",
    "http://mt.localhost:8787",
    "http://mybox:8787",
    "http://MyBox.:8787",
  ];
  it.each(outOfReach)("takes the tracker at %s for out of recipients' reach", (url) => {
    expect(outOfRecipientsReach(url)).toBe(true);
  });

  // Public addresses beside the private ranges, and names that only look private.
  const inReach = [
    "https://track.example.com",
    "https://mt.rep.workers.dev",
    "https://10.example.com",
    "http://11.0.0.1",
    "http://9.255.255.255",
    "http://1.0.0.0",
    "http://100.63.255.255",
    "http://100.128.0.1",
    "http://126.255.255.255",
    "http://128.0.0.1",
    "http://169.253.1.1",
    "http://169.255.0.1",
    "http://172.15.255.255",
    "http://172.32.0.1",
    "http://192.167.1.1",
    "http://192.169.0.1",
    "http://[2001:db8::1]",
    "http://[fec0::1]",
    "http://[fe7f::1]",
    "http://[fbff::1]",
    "http://[fe8::1]",
    "http://[::2]",
    "http://[::ffff:8.8.8.8]",
    "http://[::ffff:1]",
    "http://[64:ff9b::a00:1]",
    "https://example.local.com",
    "https://internal.example.com",
    "https://ts.net.example.com",
    "not a url",
  ];
  it.each(inReach)("takes the tracker at %s for within recipients' reach", (url) => {
    expect(outOfRecipientsReach(url)).toBe(false);
  });

  it("tracks links only through a tracker recipients can reach, unless the rep asked for them all the same", () => {
    const off = migrate({ version: 3 });
    expect(off.trackLinksOutOfReach).toBe(false);
    expect(linksTracked("https://track.example.com", off)).toBe(true);
    expect(linksTracked("http://127.0.0.1:8787", off)).toBe(false);
    expect(linksTracked("http://192.168.1.20:8787", off)).toBe(false);
    const on = migrate({ version: 4, trackLinksOutOfReach: true });
    expect(linksTracked("http://127.0.0.1:8787", on)).toBe(true);
    expect(migrate({ version: 4, trackLinksOutOfReach: "yes" }).trackLinksOutOfReach).toBe(false);
  });

  it("says of a tailnet's name that recipients reach it once Tailscale Funnel publishes it, and never that opens go unrecorded once the rep says it is", () => {
    const tailnet = "https://box.tail1234.ts.net";
    const off = migrate({ version: 4 });
    const on = migrate({ version: 4, trackLinksOutOfReach: true });
    expect(trackerNotice(tailnet, off)).toBe(
      "Recipients cannot reach your tracker at box.tail1234.ts.net unless it is published with Tailscale Funnel: only then are their opens recorded; links go out as written, not tracked.",
    );
    expect(trackerNotice(tailnet, on)).toBe(
      "Recipients cannot reach your tracker at box.tail1234.ts.net unless it is published with Tailscale Funnel: only then are their opens recorded and do tracked links open for them.",
    );
    // Any other private address: this computer or a private network, which nothing publishes.
    expect(trackerNotice("http://127.0.0.1:8787", on)).toContain("(this computer or a private network): their opens are not recorded");
    expect(trackerNotice("https://track.example.com", off)).toBeNull();
  });

  it("gives the unit tests' rep a tracker recipients reach, and the default one theirs out of reach", () => {
    // Tests of composes start from REP_OPTIONS: their links are tracked unless a test picks a local tracker itself.
    expect(outOfRecipientsReach(REP_OPTIONS.trackerUrl)).toBe(false);
    expect(linksTracked(REP_OPTIONS.trackerUrl, REP_OPTIONS)).toBe(true);
    expect(outOfRecipientsReach(DEFAULT_OPTIONS.trackerUrl)).toBe(true);
  });

  it("normalises tracker URLs and domain lists, and matches subdomains", () => {
    expect(normalizeTrackerUrl(" https://t.example/base/ ")).toBe("https://t.example/base");
    expect(normalizeTrackerUrl("ftp://t.example")).toBeNull();
    // Typed without a scheme: http for the rep's own machine and private networks, https for anything else, and for a
    // tailnet's MagicDNS name (`tailscale serve` publishes it over HTTPS).
    expect(normalizeTrackerUrl("127.0.0.1:8787")).toBe("http://127.0.0.1:8787");
    expect(normalizeTrackerUrl("localhost:8787/")).toBe("http://localhost:8787");
    expect(normalizeTrackerUrl("192.168.1.20:8787")).toBe("http://192.168.1.20:8787");
    expect(normalizeTrackerUrl("mybox:8787")).toBe("http://mybox:8787");
    expect(normalizeTrackerUrl("box.tail1234.ts.net")).toBe("https://box.tail1234.ts.net");
    expect(normalizeTrackerUrl("Box.Tail1234.TS.NET.")).toBe("https://box.tail1234.ts.net.");
    expect(normalizeTrackerUrl("box.tail1234.ts.net:443")).toBe("https://box.tail1234.ts.net");
    // A tailnet's name with another port: most likely the tracker itself, reached over the tailnet in plain http.
    expect(normalizeTrackerUrl("box.tail1234.ts.net:8787")).toBe("http://box.tail1234.ts.net:8787");
    expect(normalizeTrackerUrl("box.tail1234.ts.net.:8787")).toBe("http://box.tail1234.ts.net.:8787");
    expect(normalizeTrackerUrl("box.internal:8787")).toBe("http://box.internal:8787");
    expect(normalizeTrackerUrl("[fd12::1]:8787")).toBe("http://[fd12::1]:8787");
    expect(normalizeTrackerUrl("100.128.0.1")).toBe("https://100.128.0.1");
    expect(normalizeTrackerUrl("track.example.com")).toBe("https://track.example.com");
    expect(normalizeTrackerUrl("")).toBeNull();
    expect(parseDomainList("a.example\n*.b.example; bad_domain")).toEqual(["a.example", "b.example"]);
    // A link pasted from the address bar keeps its host: the rep's entry is never dropped for its scheme or path.
    expect(parseDomainList("https://calendly.com/rep-name, http://WWW.Acme.com:8080/pricing?x=1\nacme.org/about")).toEqual([
      "calendly.com",
      "www.acme.com",
      "acme.org",
    ]);
    expect(hostMatchesDomains("mail.a.example", ["a.example"])).toBe(true);
    expect(hostMatchesDomains("nota.example", ["a.example"])).toBe(false);
  });

  it("reads the options page's fields, naming what it did not understand instead of dropping it", () => {
    expect(readDomainList("acme.com, https://calendly.com/rep\n\n@Sales.Acme.com")).toEqual({
      value: ["acme.com", "calendly.com", "sales.acme.com"],
    });
    // An address is not taken as its domain: that would stop the tracking of everyone at acme.com.
    expect(readDomainList("acme.org\nbob@acme.com, bad_domain")).toEqual({
      problems: ['"bob@acme.com" is an email address, not a domain: its domain is acme.com', '"bad_domain" is not a domain'],
    });
    expect(readDays(" 7 ")).toEqual({ value: 7 });
    expect(readDays("0").problems).toEqual(['"0" is not a whole number of days from 1 to 365']);
    expect(readDays("400").problems).toEqual(['"400" is not a whole number of days from 1 to 365']);
    expect(readDays("").problems).toEqual(["a whole number of days from 1 to 365 is needed"]);
    expect(readCampaignDays("Webinar: 5\n\n Q4 launch : 2 \nconstructor: 4")).toEqual({
      value: { Webinar: 5, "Q4 launch": 2, constructor: 4 },
    });
    expect(readCampaignDays("Webinar 5\nQ4: 2\n: 3\nEvent: 0\nQ4: 6").problems).toEqual([
      '"Webinar 5" has no colon: write "Campaign: days", e.g. "Webinar: 5"',
      '": 3" names no campaign before the colon',
      '"Event: 0": the wait is a whole number of days from 1 to 365',
      '"Q4" is given twice: keep one line for it',
    ]);
  });
});

import { Window as HappyWindow } from "happy-dom";
import { describe, expect, it } from "vitest";
import { installPixelGuard, neutraliseHtml, pixelIdIn, withoutPixels } from "./pixel-guard";

const TRACKER = "https://t.example";
const ID = "abcdefghijklmnop.1.AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB";
const OTHER_ID = "qrstuvwxyz234567.2.CCCCCCCCCCCCCCCCCCCCCC.DDDDDDDDDDDDDDDDDDDDDD";

describe("page-world pixel guard", () => {
  it("recognises this tracker's pixel directly and through Google's proxy fragment (plain or encoded)", () => {
    expect(pixelIdIn(`${TRACKER}/o/${ID}.gif`, [TRACKER])).toBe(ID);
    expect(pixelIdIn(`https://ci3.googleusercontent.com/meips/ADKq_Nb=s0-d-e1-ft#${TRACKER}/o/${ID}.gif`, [TRACKER])).toBe(ID);
    expect(
      pixelIdIn(`https://ci4.googleusercontent.com/proxy/xyz=s0-d-e1-ft#${encodeURIComponent(`${TRACKER}/o/${ID}.gif`)}`, [TRACKER]),
    ).toBe(ID);
    expect(pixelIdIn(`https://other.example/o/${ID}.gif`, [TRACKER])).toBeNull();
    expect(pixelIdIn(`https://ci3.googleusercontent.com/meips/x#https://images.example/logo.png`, [TRACKER])).toBeNull();
    // A tracker on a port: the fragment's colon may be percent-encoded, and the pixel is still found.
    const local = "http://127.0.0.1:8787";
    expect(pixelIdIn(`https://ci3.googleusercontent.com/meips/a=s0-d-e1-ft#${encodeURIComponent(`${local}/o/${ID}.gif`)}`, [local])).toBe(
      ID,
    );
    expect(pixelIdIn(`${local}/o/${ID}.gif`, [TRACKER])).toBeNull();
  });

  it("recognises the pixels of every tracker it is given (the current one and those connected before), and of no other", () => {
    const earlier = "https://mt.rep.workers.dev";
    const trackers = [TRACKER, earlier];
    expect(pixelIdIn(`${earlier}/o/${ID}.gif`, trackers)).toBe(ID);
    expect(
      pixelIdIn(`https://ci3.googleusercontent.com/meips/a=s0-d-e1-ft#${encodeURIComponent(`${earlier}/o/${ID}.gif`)}`, trackers),
    ).toBe(ID);
    expect(pixelIdIn(`${TRACKER}/o/${ID}.gif`, trackers)).toBe(ID);
    expect(pixelIdIn(`${earlier}/o/${ID}.gif`, [TRACKER])).toBeNull();
    expect(pixelIdIn(`https://other.example/o/${ID}.gif`, trackers)).toBeNull();
    expect(pixelIdIn(`${TRACKER}/o/${ID}.gif`, [])).toBeNull();
    const found: string[] = [];
    const html = `<img src="${TRACKER}/o/${ID}.gif"><img src="${earlier}/o/${OTHER_ID}.gif"><img src="https://images.example/logo.png">`;
    expect(neutraliseHtml(html, trackers, (id) => found.push(id))).not.toContain(' src="https://t');
    expect(found).toEqual([ID, OTHER_ID]);
  });

  it("recognises the pixel in a proxy URL inside another: a Gmail reader's reply quoting the email, shown through the proxy again", () => {
    const quoted = `https://ci5.googleusercontent.com/proxy/Q1=s0-d-e1-ft#${TRACKER}/o/${ID}.gif`;
    expect(pixelIdIn(`https://ci3.googleusercontent.com/meips/Q2=s0-d-e1-ft#${quoted}`, [TRACKER])).toBe(ID);
    expect(pixelIdIn(`https://ci3.googleusercontent.com/meips/Q2=s0-d-e1-ft#${encodeURIComponent(quoted)}`, [TRACKER])).toBe(ID);
    const local = "http://127.0.0.1:8787";
    const encoded = `https://ci5.googleusercontent.com/proxy/Q1=s0-d-e1-ft#${encodeURIComponent(`${local}/o/${ID}.gif`)}`;
    expect(pixelIdIn(`https://ci3.googleusercontent.com/meips/Q2=s0-d-e1-ft#${encoded}`, [local])).toBe(ID);
    expect(
      pixelIdIn(
        `https://ci3.googleusercontent.com/meips/Q2=s0-d-e1-ft#https://ci5.googleusercontent.com/proxy/Q1#https://images.example/t.example.png`,
        [TRACKER],
      ),
    ).toBeNull();
  });

  it("rewrites only the tracker's pixels in an HTML string, keeping the original for the content script", () => {
    const html = `<p>hi</p><img alt="" src="https://ci3.googleusercontent.com/meips/a=s0-d-e1-ft#${TRACKER}/o/${ID}.gif" width="1"><img src="https://images.example/logo.png">`;
    const out = neutraliseHtml(html, [TRACKER]);
    // No src left: nothing is fetched, nor decoded.
    expect(out).toContain(
      `<img alt="" data-mt-src="https://ci3.googleusercontent.com/meips/a=s0-d-e1-ft#${TRACKER}/o/${ID}.gif" data-mt-pixel-id="${ID}" width="1">`,
    );
    expect(out).toContain('<img src="https://images.example/logo.png">');
    expect(neutraliseHtml("<p>no tracker here</p>", [TRACKER])).toBe("<p>no tracker here</p>");
  });

  it("rewrites only the <img> tags that are pixels, in either case, whatever else names the tracker", () => {
    const pixel = `${TRACKER}/o/${ID}.gif`;
    const other = `${TRACKER}/o/${OTHER_ID}.gif`;
    const neutralised = (id: string, src: string) => `data-mt-src="${src}" data-mt-pixel-id="${id}"`;
    const found: string[] = [];
    const html = [
      `<a href="${TRACKER}/c/${ID}/0?u=x">t.example</a> t.example`,
      `<IMG ALT="t.example" SRC="${pixel}">`,
      `<img src="https://images.example/logo.png">`,
      `<img title="a<b" src='${other}' width=1>`,
      `<imgx src="${pixel}">`,
      `<img src="${pixel}"`,
    ].join("");
    expect(neutraliseHtml(html, [TRACKER], (id) => found.push(id))).toBe(
      [
        `<a href="${TRACKER}/c/${ID}/0?u=x">t.example</a> t.example`,
        `<IMG ALT="t.example" ${neutralised(ID, pixel)}>`,
        `<img src="https://images.example/logo.png">`,
        `<img title="a<b" ${neutralised(OTHER_ID, other)} width=1>`,
        `<imgx src="${pixel}">`,
        `<img src="${pixel}"`,
      ].join(""),
    );
    expect(found).toEqual([ID, OTHER_ID]);
  });

  it("reads a tag's attributes in order: a pixel's URL written inside another attribute's value is text, never rewritten", () => {
    const attributesOf = (html: string) => {
      const template = new HappyWindow().document.createElement("template");
      template.innerHTML = html;
      const img = template.content.querySelector("img");
      return img ? [...img.attributes].map((a) => [a.name, a.value]) : null;
    };
    // Someone's email whose alt text holds what looks like a pixel's src, with attributes of its own after it.
    const payload = `<img alt="A' src='${TRACKER}/o/${ID}.gif?x style=position:fixed;inset:0 onerror=alert(1) y' B" src="https://evil.example/banner.png">`;
    expect(neutraliseHtml(payload, [TRACKER])).toBe(payload);
    expect(attributesOf(neutraliseHtml(payload, [TRACKER]))).toEqual([
      ["alt", `A' src='${TRACKER}/o/${ID}.gif?x style=position:fixed;inset:0 onerror=alert(1) y' B`],
      ["src", "https://evil.example/banner.png"],
    ]);
    expect(withoutPixels(payload, [TRACKER])).toBe(payload);
    // The real src is the pixel, behind such text: that src alone is rewritten.
    const pixel = `<img alt="x src='https://images.example/a.png'" src="${TRACKER}/o/${ID}.gif">`;
    expect(attributesOf(neutraliseHtml(pixel, [TRACKER]))).toEqual([
      ["alt", "x src='https://images.example/a.png'"],
      ["data-mt-src", `${TRACKER}/o/${ID}.gif`],
      ["data-mt-pixel-id", ID],
    ]);
    expect(withoutPixels(`<p>${pixel}</p>`, [TRACKER])).toBe("<p></p>");
    // A tag the browser would read otherwise than simply (a quote inside a name or an unquoted value): left as it is.
    for (const odd of [`<img a"b src="${TRACKER}/o/${ID}.gif">`, `<img alt=x"y src="${TRACKER}/o/${ID}.gif">`])
      expect(neutraliseHtml(odd, [TRACKER])).toBe(odd);
  });

  it("reads the first of two src attributes, as the browser does, and leaves no later one to load in its place", () => {
    // The HTML tokenizer drops an attribute whose name the tag already has ("duplicate-attribute" parse error, the
    // attribute name state), whatever its case: the browser fetches the first src alone.
    const parsed = (html: string) => {
      const template = new HappyWindow().document.createElement("template");
      template.innerHTML = html;
      const img = template.content.querySelector("img");
      return img ? [...img.attributes].map((a) => [a.name, a.value]) : null;
    };
    const pixel = `${TRACKER}/o/${ID}.gif`;
    const twice = `<img alt="" src="${pixel}" width=1 SRC="https://images.example/a.png" height=1 src='${TRACKER}/o/${OTHER_ID}.gif'>`;
    expect(parsed(twice)).toEqual([
      ["alt", ""],
      ["src", pixel],
      ["width", "1"],
      ["height", "1"],
    ]);
    const found: string[] = [];
    expect(parsed(neutraliseHtml(twice, [TRACKER], (id) => found.push(id)))).toEqual([
      ["alt", ""],
      ["data-mt-src", pixel],
      ["data-mt-pixel-id", ID],
      ["width", "1"],
      ["height", "1"],
    ]);
    expect(found).toEqual([ID]);
    expect(withoutPixels(`<p>${twice}</p>`, [TRACKER])).toBe("<p></p>");
    // The first src is someone else's image: the browser loads that one and never the pixel after it; left as it is.
    const pictureFirst = `<img src="https://images.example/a.png" src="${pixel}">`;
    expect(neutraliseHtml(pictureFirst, [TRACKER])).toBe(pictureFirst);
  });

  it("finds the pixel of a tracker on a port through a percent-encoded proxy fragment, whose colon is encoded", () => {
    // The proxy's fragment as captured is the plain original URL (test/fixtures/gmail/sync-api/2022-09-09-*: a
    // `…/proxy/…=s0-d-e1-ft#https://…` image). The percent-encoded form is a defensive case both readers accept
    // (pixelIdIn, in the page world and the content script alike); the cheap test must not skip it.
    const local = "http://127.0.0.1:8787";
    const src = `https://ci3.googleusercontent.com/meips/a=s0-d-e1-ft#${encodeURIComponent(`${local}/o/${ID}.gif`)}`;
    const found: string[] = [];
    expect(neutraliseHtml(`<img src="${src}">`, [local], (id) => found.push(id))).toContain(`data-mt-pixel-id="${ID}"`);
    expect(found).toEqual([ID]);
  });

  it("under Trusted Types, neutralises the pixel in each policy's createHTML output, and says which ids it found once Gmail's call is over", async () => {
    // Gmail's page: a Trusted Types factory whose policies seal createHTML's output (happy-dom has none: a model of
    // the browser's, which only ever hands the sinks what createHTML returned). Gmail creates its policy after ours.
    const window = new HappyWindow({ url: "https://mail.google.com/mail/u/0/" });
    const sealed = new WeakMap<object, string>();
    const factory = {
      createPolicy(_name: string, rules: { createHTML: (s: string) => string }) {
        return {
          createHTML(input: string) {
            const trusted = {};
            sealed.set(trusted, String(rules.createHTML(input)));
            return trusted;
          },
        };
      },
    };
    Object.assign(window, { trustedTypes: factory });
    const win = window as unknown as Window & typeof globalThis;
    win.document.documentElement.setAttribute("data-mt-tracker", TRACKER);
    const found: string[][] = [];
    win.document.addEventListener("mt:pixels-neutralised", (event) => found.push(JSON.parse(String((event as CustomEvent).detail))));
    installPixelGuard(win);

    const rules = { createHTML: (s: string) => s };
    const gmailPolicy = (win as unknown as { trustedTypes: typeof factory }).trustedTypes.createPolicy("gmail#html", rules);
    const trusted = gmailPolicy.createHTML(
      `<div>Hi<img src="https://ci3.googleusercontent.com/meips/a=s0-d-e1-ft#${TRACKER}/o/${ID}.gif"></div>`,
    );
    expect(sealed.get(trusted)).toBe(
      `<div>Hi<img data-mt-src="https://ci3.googleusercontent.com/meips/a=s0-d-e1-ft#${TRACKER}/o/${ID}.gif" data-mt-pixel-id="${ID}"></div>`,
    );
    // Told in a task of its own, not inside Gmail's call; every id of that task in one event.
    const again = gmailPolicy.createHTML(`<p><img src="${TRACKER}/o/${OTHER_ID}.gif"><img src="${TRACKER}/o/${ID}.gif"></p>`);
    expect(sealed.get(again)).toContain(`data-mt-pixel-id="${OTHER_ID}"`);
    expect(found).toEqual([]);
    await new Promise((resolve) => win.setTimeout(resolve, 0));
    expect(found).toEqual([[ID, OTHER_ID]]);
    gmailPolicy.createHTML(`<img src="${TRACKER}/o/${OTHER_ID}.gif">`);
    await new Promise((resolve) => win.setTimeout(resolve, 0));
    expect(found).toEqual([[ID, OTHER_ID], [OTHER_ID]]);
    // Gmail's own rules object is left as it was; other HTML passes unchanged.
    expect(rules.createHTML("<b>x</b>")).toBe("<b>x</b>");
    expect(sealed.get(gmailPolicy.createHTML("<p>no tracker</p>"))).toBe("<p>no tracker</p>");
  });

  it("neutralises an image given the pixel one by one (new Image, src set), leaving it without a src, and says its id", async () => {
    const window = new HappyWindow({ url: "https://mail.google.com/mail/u/0/" });
    const win = window as unknown as Window & typeof globalThis;
    win.document.documentElement.setAttribute("data-mt-tracker", TRACKER);
    const found: string[][] = [];
    win.document.addEventListener("mt:pixels-neutralised", (event) => found.push(JSON.parse(String((event as CustomEvent).detail))));
    installPixelGuard(win);
    const pixel = win.document.createElement("img");
    pixel.src = `${TRACKER}/o/${ID}.gif`;
    expect(pixel.hasAttribute("src")).toBe(false);
    expect(pixel.getAttribute("data-mt-pixel-id")).toBe(ID);
    expect(pixel.getAttribute("data-mt-src")).toBe(`${TRACKER}/o/${ID}.gif`);
    const logo = win.document.createElement("img");
    logo.src = "https://images.example/logo.png";
    expect(logo.getAttribute("src")).toBe("https://images.example/logo.png");
    // Told as a rewrite's ids are, in the next task: the content script no longer looks for the pixels it left.
    expect(found).toEqual([]);
    await new Promise((resolve) => win.setTimeout(resolve, 0));
    expect(found).toEqual([[ID]]);
  });

  it("never throws inside Gmail: a policy whose own createHTML throws behaves exactly as without the guard", () => {
    const window = new HappyWindow({ url: "https://mail.google.com/mail/u/0/" });
    const factory = {
      createPolicy: (_name: string, rules: { createHTML: (s: string) => string }) => ({ createHTML: (s: string) => rules.createHTML(s) }),
    };
    Object.assign(window, { trustedTypes: factory });
    const win = window as unknown as Window & typeof globalThis;
    installPixelGuard(win);
    const policy = (win as unknown as { trustedTypes: typeof factory }).trustedTypes.createPolicy("strict", {
      createHTML: () => {
        throw new TypeError("refused by Gmail's sanitizer");
      },
    });
    expect(() => policy.createHTML("<p>x</p>")).toThrow("refused by Gmail's sanitizer");
  });
  it("keeps every member of Gmail's rules, its prototype's included, as the browser reads them", () => {
    // The browser reads a policy's options as a WebIDL dictionary, with [[Get]], so members a rules object inherits
    // count (WebIDL, "dictionary" conversion; TrustedTypePolicyOptions in the Trusted Types spec). A copy of the own
    // members alone would leave Gmail's script and script-URL rules out, and its scripts would then fail to load.
    class Rules {
      createHTML(input: string) {
        return input;
      }
      createScriptURL(input: string) {
        return `${input}?checked`;
      }
    }
    const window = new HappyWindow({ url: "https://mail.google.com/mail/u/0/" });
    const member = (rules: object, name: string) => (rules as Record<string, ((input: string) => string) | undefined>)[name];
    const factory = {
      createPolicy: (_name: string, rules: object) => ({
        createHTML: (input: string) => member(rules, "createHTML")?.(input),
        createScriptURL: (input: string) => member(rules, "createScriptURL")?.(input),
      }),
    };
    Object.assign(window, { trustedTypes: factory });
    const win = window as unknown as Window & typeof globalThis;
    win.document.documentElement.setAttribute("data-mt-tracker", TRACKER);
    installPixelGuard(win);
    const policy = (win as unknown as { trustedTypes: typeof factory }).trustedTypes.createPolicy("gmail#script", new Rules());
    expect(policy.createScriptURL("https://www.gstatic.com/x.js")).toBe("https://www.gstatic.com/x.js?checked");
    expect(policy.createHTML(`<img src="${TRACKER}/o/${ID}.gif">`)).not.toContain(" src=");
  });
});

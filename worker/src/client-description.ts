// A hit's mail client and device in words a rep knows ("iPhone Mail", "Outlook for Windows", "Gmail (through
// Google's proxy)"), from its user agent: ua-parser-js for browsers and systems, plus a table of the mail clients
// and image proxies it does not know. Hits store these words (no raw user agent is kept), and rows stored before
// them are reworded when read (readableClient), so old and new rows read alike.
import UAParser from "ua-parser-js";
import type { EventLabel } from "../../shared/labels";
import { APPLE_MPP_USER_AGENT, type MailProxy, mailProxy } from "./classify";

export interface ClientAndDevice {
  client: string | null;
  device: string | null;
}

const FIELD_MAX = 100;
const capped = (value: string | null | undefined) => (value ? value.slice(0, FIELD_MAX) : null);

/**
 * Mail clients by a mark in their user agent, first match wins (the image proxies are classify.ts's MAIL_PROXIES,
 * with their sources, so labels and words name the same proxy). Sources:
 * - Apple Mail Privacy Protection: exactly "Mozilla/5.0" (Apple, 2021-09; classify.ts APPLE_MPP_USER_AGENT).
 * - Outlook for Windows fetches images through Office's own HTTP stack: "Microsoft Office/16.0 (Windows NT 10.0;
 *   Microsoft Outlook 16.0.x; Pro)", or with the Word rendering engine "Mozilla/4.0 (compatible; ms-office; MSOffice 16)"
 *   (Microsoft's documented Office user agents; field notes "Outlook for Windows").
 * - Outlook for Mac: "Microsoft Outlook" with "Macintosh"; Outlook's phone apps: "Outlook-iOS", "Outlook-Android".
 */
const KNOWN: { test: (ua: string) => boolean; client: string; device?: string }[] = [
  { test: (ua) => ua.trim() === APPLE_MPP_USER_AGENT, client: "Apple Mail (privacy prefetch)" },
  { test: (ua) => /Outlook-iOS/i.test(ua), client: "Outlook for iPhone", device: "iPhone" },
  { test: (ua) => /Outlook-Android/i.test(ua), client: "Outlook for Android", device: "Android phone" },
  { test: (ua) => /Microsoft Outlook/i.test(ua) && /Macintosh|Mac OS X/i.test(ua), client: "Outlook for Mac", device: "Mac" },
  {
    test: (ua) => /ms-office|MSOffice|Microsoft Office|Microsoft Outlook|Microsoft Word/i.test(ua),
    client: "Outlook for Windows",
    device: "Windows PC",
  },
  { test: (ua) => /Thunderbird\//.test(ua), client: "Thunderbird" },
];

/** The device in a person's words, from the parser's system and device. */
function deviceWords(osName: string, deviceType: string | undefined, model: string | undefined): string | null {
  if (model === "iPhone" || (osName === "iOS" && deviceType === "mobile")) return "iPhone";
  if (model === "iPad" || (osName === "iOS" && deviceType === "tablet")) return "iPad";
  if (osName === "iOS") return "iPhone or iPad";
  if (osName === "Mac OS" || osName === "macOS") return "Mac";
  if (osName === "Windows") return "Windows PC";
  if (osName === "Chromium OS" || osName === "Chrome OS") return "Chromebook";
  if (osName === "Android") return deviceType === "tablet" ? "Android tablet" : "Android phone";
  if (osName) return deviceType === "mobile" ? `${osName} phone` : `${osName} computer`;
  return null;
}

/** A mail service's image proxy in words; the proxy hides the reader's device. */
const proxyWords = (proxy: MailProxy): string =>
  proxy.id === "gmail" ? "Gmail (through Google's proxy)" : `${proxy.name} (through its image proxy)`;

export function describeUserAgent(userAgent: string): ClientAndDevice {
  const proxy = mailProxy(userAgent);
  if (proxy) return { client: proxyWords(proxy), device: null };
  const { browser, os, device } = new UAParser(userAgent).getResult();
  const words = deviceWords(os.name ?? "", device.type, device.model);
  const known = KNOWN.find((entry) => entry.test(userAgent));
  if (known) {
    // Apple's prefetch is a proxy too: its system is not the reader's device.
    const proxied = known.client.includes("(");
    return { client: known.client, device: known.device ?? (proxied ? null : capped(words)) };
  }
  // Apple's Mail app loads images with WebKit and no "Safari/" token: the parser can name only the engine.
  const appleMail = !browser.name || browser.name === "WebKit" || /AppleWebKit\/[\d.]+ \(KHTML, like Gecko\)(?! .*Safari)/.test(userAgent);
  if (appleMail && (os.name === "iOS" || os.name === "Mac OS" || os.name === "macOS")) {
    const client = words === "iPhone" ? "iPhone Mail" : words === "iPad" ? "iPad Mail" : "Apple Mail";
    return { client, device: words };
  }
  return { client: capped(browser.name ? `${browser.name} (web browser)` : null), device: capped(words) };
}

/**
 * What a stored hit shows: words stored by describeUserAgent as they are, and the parser's older forms, stored
 * before it ("WebKit 605" with "iOS 17.1 Apple iPhone (mobile)", "Gmail image proxy", "Chrome 120" with
 * "Windows 10 (desktop)"), reworded the same way. Apple's prefetch stored no client; its label names it.
 */
export function readableClient(client: string | null, device: string | null, label?: EventLabel): ClientAndDevice {
  if (client === "Gmail image proxy") return { client: "Gmail (through Google's proxy)", device: null };
  if (client === "Yahoo Mail image proxy") return { client: "Yahoo Mail (through its image proxy)", device: null };
  if (!client && label === "apple-mpp") return { client: "Apple Mail (privacy prefetch)", device: null };
  const legacyDevice = device ? /^(.*?) ?(?:\((mobile|tablet|desktop|[a-z]+)\))?$/.exec(device) : null;
  if (!legacyDevice?.[2]) return { client, device };
  const system = legacyDevice[1] ?? "";
  const osName = /^(Mac OS|iOS|Windows|Android|Chromium OS|Linux|Ubuntu)/.exec(system)?.[1] ?? system.split(" ")[0] ?? "";
  const model = /\b(iPhone|iPad)\b/.exec(system)?.[1];
  const type = legacyDevice[2] === "desktop" ? undefined : legacyDevice[2];
  const words = deviceWords(osName, type, model);
  if (client && /^WebKit\b/.test(client) && (osName === "iOS" || osName === "Mac OS")) {
    return { client: words === "iPhone" ? "iPhone Mail" : words === "iPad" ? "iPad Mail" : "Apple Mail", device: words };
  }
  const browserName = client?.replace(/ \d+(\.\d+)*$/, "");
  return { client: browserName ? `${browserName} (web browser)` : null, device: words };
}

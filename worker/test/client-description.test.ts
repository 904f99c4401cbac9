// Clients in words: real user agents of mail clients and proxies (sources in client-description.ts), and the parser's
// older stored forms reworded when read.
import { describe, expect, it } from "vitest";
import { describeUserAgent, readableClient } from "../src/client-description";

const IPHONE_MAIL = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
const APPLE_MAIL_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)";
const SAFARI_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
const OUTLOOK_WINDOWS = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)";
const OUTLOOK_WORD_ENGINE = "Mozilla/4.0 (compatible; ms-office; MSOffice 16)";
const OUTLOOK_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Microsoft Outlook 16.78";
const GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
const YAHOO_PROXY = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html";
const CHROME_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const CHROME_ANDROID =
  "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

describe("clients in words", () => {
  it.each([
    [IPHONE_MAIL, "iPhone Mail", "iPhone"],
    [APPLE_MAIL_MAC, "Apple Mail", "Mac"],
    [SAFARI_MAC, "Safari (web browser)", "Mac"],
    [OUTLOOK_WINDOWS, "Outlook for Windows", "Windows PC"],
    [OUTLOOK_WORD_ENGINE, "Outlook for Windows", "Windows PC"],
    [OUTLOOK_MAC, "Outlook for Mac", "Mac"],
    [GMAIL_PROXY, "Gmail (through Google's proxy)", null],
    [YAHOO_PROXY, "Yahoo Mail (through its image proxy)", null],
    ["Mozilla/5.0", "Apple Mail (privacy prefetch)", null],
    [CHROME_WINDOWS, "Chrome (web browser)", "Windows PC"],
    [CHROME_ANDROID, "Chrome (web browser)", "Android phone"],
  ])("%s -> %s on %s", (ua, client, device) => {
    expect(describeUserAgent(ua)).toEqual({ client, device });
  });

  it("rewords what the parser stored before, and leaves today's words as they are", () => {
    expect(readableClient("WebKit 605", "iOS 17.1 Apple iPhone (mobile)")).toEqual({ client: "iPhone Mail", device: "iPhone" });
    expect(readableClient("WebKit 605", "Mac OS 10.15.7 (desktop)")).toEqual({ client: "Apple Mail", device: "Mac" });
    expect(readableClient("Chrome 131", "Windows 10 (desktop)")).toEqual({ client: "Chrome (web browser)", device: "Windows PC" });
    expect(readableClient(null, "Windows 10 (desktop)")).toEqual({ client: null, device: "Windows PC" });
    expect(readableClient("Gmail image proxy", null)).toEqual({ client: "Gmail (through Google's proxy)", device: null });
    expect(readableClient(null, null, "apple-mpp")).toEqual({ client: "Apple Mail (privacy prefetch)", device: null });
    expect(readableClient("iPhone Mail", "iPhone")).toEqual({ client: "iPhone Mail", device: "iPhone" });
    expect(readableClient("Outlook for Windows", "Windows PC")).toEqual({ client: "Outlook for Windows", device: "Windows PC" });
  });
});

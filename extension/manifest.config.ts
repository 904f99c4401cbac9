// One manifest source for every build. Chrome gets a background service worker, Firefox background scripts
// (an event page; Firefox MV3 has no service_worker) and its gecko settings. Development builds (`npm start`, the
// end-to-end tests) are granted the local tracker up front; store builds (`npm run package`) ask for every tracker,
// the local one included, when the user connects. See vite.config.ts.
import { defineManifest } from "@crxjs/vite-plugin";
import pkg from "../package.json" with { type: "json" };

export type Target = "chrome" | "firefox";
export type Flavour = "development" | "store";

const GMAIL = "https://mail.google.com/*";

export function manifestFor(target: Target, flavour: Flavour) {
  return defineManifest({
    manifest_version: 3,
    name: "Mailtracker",
    version: pkg.version,
    description: "Self-hosted open and click tracking for the emails you send from Gmail, reported to your own tracker.",
    icons: { 48: "extension/public/icon-48.png", 128: "extension/public/icon-128.png" },
    // declarativeNetRequestWithHostAccess: blocks the tracker's pixels in the sender's own Gmail (background/pixel-block.ts).
    // notifications: the first open of a message and the first click of each link (background/notifications.ts).
    permissions: ["storage", "alarms", "notifications", "declarativeNetRequestWithHostAccess"],
    // Development: the local tracker `npm start` runs is granted up front. Any other tracker (and in store builds the
    // local one too) is asked for at connect time (options/main.tsx requestHostAccess), under optional_host_permissions.
    host_permissions: flavour === "development" ? [GMAIL, "http://127.0.0.1/*", "http://localhost/*"] : [GMAIL],
    optional_host_permissions: ["http://*/*", "https://*/*"],
    background:
      target === "firefox"
        ? { scripts: ["extension/src/background/index.ts"], type: "module" }
        : { service_worker: "extension/src/background/index.ts", type: "module" },
    content_scripts: [
      {
        // Page world: sees Gmail's XMLHttpRequests (Chrome 111+, Firefox 128+). Self-contained IIFE, no imports.
        matches: [GMAIL],
        js: ["extension/src/page-world/page-world.iife.ts"],
        run_at: "document_start",
        world: "MAIN",
      },
      {
        matches: [GMAIL],
        js: ["extension/src/content/index.iife.ts"],
        run_at: "document_start",
      },
    ],
    options_ui: { page: "extension/src/options/index.html", open_in_tab: true },
    action: { default_popup: "extension/src/popup/index.html", default_title: "Mailtracker" },
    ...(target === "firefox"
      ? {
          browser_specific_settings: {
            gecko: {
              id: "mailtracker@mailtracker.dev",
              // 140 (desktop) and 142 (Android) are the first to read data_collection_permissions (addons-linter,
              // KEY_FIREFOX_UNSUPPORTED_BY_MIN_VERSION); 140 is an ESR, and MAIN-world scripts need 128 anyway.
              strict_min_version: "140.0",
              // Mozilla counts as transmitted "any data collected, used, transferred, shared, or handled outside the
              // add-on or the local browser" (extensionworkshop.com firefox-builtin-data-consent, 2025-08-04), the
              // rep's own tracker included: addy.io's extension, whose server may be self-hosted, declares what it
              // sends there (its v3.2.0 release notes). Nothing goes to the add-on's authors. Each is needed to work, so
              // required (Firefox shows them at install):
              data_collection_permissions: {
                required: [
                  // Recipients' addresses and names, repliers' and bounced addresses, the rep's own Gmail addresses
                  // (so that their own replies are not counted).
                  "personallyIdentifyingInfo",
                  // Each tracked email's subject, link destinations and campaign; of replies and bounce notices only
                  // that they came (sender, time), and a bounce's failed addresses and reason.
                  "personalCommunications",
                  // All of the above is read from Gmail's page, with Gmail's thread and message ids.
                  "websiteContent",
                  // Which conversations the rep views (sender-view reports) and which threads their lists show.
                  "browsingActivity",
                  // When the rep sends an email, and takes one back with Gmail's Undo.
                  "websiteActivity",
                  // The browser's time zone, which names a region ("Europe/Berlin"), for the popup's daily totals.
                  "locationInfo",
                  // The registration secret the rep enters at Connect, and the account's token after it.
                  "authenticationInfo",
                ],
              },
            },
            gecko_android: { strict_min_version: "142.0" },
          },
          // Firefox's default for MV3 extension pages adds `upgrade-insecure-requests`, which turns the background's
          // requests to a tracker on plain http on the local network (options-store.ts allows http there) into https
          // requests that fail; only the rep's own machine is spared. Chrome's default has no such rule. (MDN's
          // content_security_policy page, "upgrade-insecure-requests" in the MV3 default, mdn/content PR 23114,
          // 2022-12; redmine-time-tracking issue 33, 2025-03-14, an http://192.168.… server upgraded; Firefox's own
          // test_ext_webSocket.js checks the upgrade with and without a custom policy; read 2026-12-05.)
          content_security_policy: { extension_pages: "script-src 'self'" },
        }
      : // 120: the content script, the page-world script and the background use URL.canParse (Chrome 120); MAIN-world
        // content scripts alone would need 111. An older Chrome would add the pixel and then fail to register the email.
        { minimum_chrome_version: "120" }),
  });
}

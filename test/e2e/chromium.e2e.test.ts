import { launchChromium } from "./chromium";
import { defineScenarios } from "./scenarios";

// Playwright's focus emulation keeps every tab "visible": the real background-tab scenario runs in
// chromium-background.e2e.test.ts (puppeteer).
defineScenarios("Chromium", launchChromium, {
  backgroundTabs: false,
  trustedTypes: true,
  siteAccess: "chrome-extensions-page",
  stopsBackground: true,
});

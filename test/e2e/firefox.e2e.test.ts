import { firefoxEnforcesTrustedTypes, launchFirefox } from "./firefox";
import { defineScenarios } from "./scenarios";

// Puppeteer over WebDriver BiDi does not hand back the tab a Ctrl+click opens: the background-tab scenario runs in
// Chromium.
defineScenarios("Firefox", launchFirefox, {
  backgroundTabs: false,
  trustedTypes: firefoxEnforcesTrustedTypes(),
  siteAccess: "permissions-api",
  stopsBackground: false,
});

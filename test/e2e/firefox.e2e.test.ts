import { launchFirefox } from "./firefox";
import { defineScenarios } from "./scenarios";

// Firefox ESR has no Trusted Types (the simulated page's CSP is ignored there), and puppeteer over WebDriver BiDi
// does not hand back the tab a Ctrl+click opens: the background-tab scenario runs in Chromium.
defineScenarios("Firefox", launchFirefox, {
  backgroundTabs: false,
  trustedTypes: false,
  outgoingBodies: false,
  siteAccess: "permissions-api",
});

import { launchChromiumWithBackgroundTabs } from "./chromium-background";
import { defineScenarios } from "./scenarios";

// Only what needs a real background tab (document.visibilityState "hidden"), which playwright cannot give.
defineScenarios(
  "Chromium, real background tabs",
  launchChromiumWithBackgroundTabs,
  { backgroundTabs: true, trustedTypes: true, siteAccess: "chrome-extensions-page", stopsBackground: false },
  /background tab/,
);

import { launchFirefox } from "./firefox";
import { definePageScenarios } from "./pages";

// The pages are the same in Firefox except where the browser differs (host permissions asked at Connect, the
// options page opened on install, the popup's size): everything but the Gmail compose reminder, which Chromium runs.
definePageScenarios("Firefox", launchFirefox, { gmail: false });

import { launchChromium } from "./chromium";
import { defineScenarios } from "./scenarios";

defineScenarios("Chromium", launchChromium, { backgroundTabs: true, trustedTypes: true });

import { launchChromium } from "./chromium";
import { definePageScenarios } from "./pages";

definePageScenarios("Chromium", launchChromium, { gmail: true });

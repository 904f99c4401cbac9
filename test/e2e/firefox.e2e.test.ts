import { launchFirefox } from "./firefox";
import { defineScenarios } from "./scenarios";

defineScenarios("Firefox", launchFirefox);

// Constants the build defines (vite.config.ts `define`).

/** True in development builds (dist/chrome, dist/firefox: npm start and the end-to-end tests), false in store builds. */
declare const DEVELOPMENT_BUILD: boolean;

/** True in the builds for Firefox (dist/firefox, dist/firefox-store), false in Chrome's: where the browsers differ. */
declare const FIREFOX_BUILD: boolean;

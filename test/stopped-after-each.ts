// What a unit test starts that outlives it (a feature with real retry timers, a listener), stopped after each test
// whatever its outcome: one a failing test left running would fire in a later test and act on its page.
import { afterEach } from "vitest";

/**
 * Registers the afterEach that stops, with `stop`, each thing passed to the returned function (which returns it);
 * `stopNow` stops those started so far before the test ends (the options changed: the feature's runs stop). Vitest runs
 * a scope's afterEach hooks last registered first: called after a file's own afterEach, the things stop before the
 * page and the mocks they use are cleared, and none of them acts on a cleared page or calls a reset mock.
 */
export function stoppedAfterEach<T>(stop: (started: T) => void): ((started: T) => T) & { stopNow(): void } {
  const running: T[] = [];
  const stopNow = () => {
    for (const started of running.splice(0)) stop(started);
  };
  afterEach(stopNow);
  return Object.assign(
    (started: T) => {
      running.push(started);
      return started;
    },
    { stopNow },
  );
}

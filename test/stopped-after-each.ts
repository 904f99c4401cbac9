// What a unit test starts that outlives it (a feature with real retry timers, a listener), stopped after each test
// whatever its outcome: one a failing test left running would fire in a later test and act on its page.
import { afterEach } from "vitest";

/** Registers the afterEach that stops, with `stop`, each thing passed to the returned function (which returns it). */
export function stoppedAfterEach<T>(stop: (started: T) => void): (started: T) => T {
  const running: T[] = [];
  afterEach(() => {
    for (const started of running.splice(0)) stop(started);
  });
  return (started) => {
    running.push(started);
    return started;
  };
}

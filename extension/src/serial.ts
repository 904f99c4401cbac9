/**
 * Runs tasks one after another. Each read-modify-write of a storage key must see the write before it, or two
 * messages handled at once would lose one another's change.
 */
export function serialRunner(): <T>(task: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };
}

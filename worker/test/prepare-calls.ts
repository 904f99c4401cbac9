// The calls of `.prepare(` in worker/src that the worker tests make, as statement-plans.ts records them in each test
// file's meta (in workerd) and unrun-statements-reporter.ts reads them (in Node).

/** A call of `.prepare(`: its file under worker/src, the function it is in, and where in that function. */
export interface PrepareCall {
  file: string;
  /** The named function of the file that runs the call, as V8 names it in a stack frame (a callback has no name). */
  owner: string;
  /** The call's position: in the code workerd runs (no source map), one per call of `.prepare(` all the same. */
  site: string;
}

declare module "vitest" {
  interface TaskMeta {
    prepareCalls?: PrepareCall[];
  }
}

/**
 * The call of `.prepare(` whose stack this is (new Error().stack, at prepare): its frame is the first in worker/src,
 * and its owner the first of those frames, in the same file, with a name (a callback's frame has none): the function
 * that calls it, the one that passed it when it calls it through Array.map or the like, a constructor by its class
 * (`new Store`). A frame says nothing of where its function is written, so a callback passed to another function of
 * the file is that one's: prepareCallsIn names the source's calls the same way. None when worker/src did not call
 * prepare.
 */
export function prepareCallOf(stack: string): PrepareCall | undefined {
  const frames = stack.split("\n").flatMap((line) => {
    const [, name, file, position] = /^\s*at (?:async )?(?:new )?(?:(\S+) \()?.*\/worker\/src\/([^:]+):(\d+:\d+)\)?$/.exec(line) ?? [];
    return file && position ? [{ name: name?.split(".").pop(), file, position }] : [];
  });
  const call = frames[0];
  if (!call) return undefined;
  const owner = frames.find((frame) => frame.file === call.file && frame.name !== undefined)?.name ?? "(module)";
  return { file: call.file, owner, site: call.position };
}

// The calls of `.prepare(` in worker/src that no worker test makes, whose statements statement-plans.ts never plans
// (it counts calls, not statements: one call may prepare several, a SQL built at run time): after a run of every
// worker test file, each function in worker/src that calls `.prepare(` is compared with the calls the tests made there
// (statement-plans.ts records each in its file's meta), and those with calls no test made are listed. It runs in Node,
// beside vitest's own reporter; a run of some of the files lists nothing (the others may run what they leave).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseSync } from "vite";
import type { Reporter, TestModule } from "vitest/node";
import type { PrepareCall } from "./prepare-calls";

const workerDir = path.join(import.meta.dirname, "..");

/** The .ts files under `dir`, relative to worker/src, `/`-separated as a stack trace names them. */
function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => file.split(path.sep).join("/"));
}

interface Node {
  type: string;
  start: number;
  [key: string]: unknown;
}
const isNode = (value: unknown): value is Node => typeof value === "object" && value !== null && typeof (value as Node).type === "string";

const named = (key: unknown) =>
  isNode(key) && (key.type === "Identifier" || key.type === "PrivateIdentifier") ? (key.name as string) : undefined;

/**
 * The name V8 gives a function (isFunction) in a stack frame, from its declaration or what it is assigned to; a constructor's is
 * its class's (`new Store`: prepareCallOf drops the `new`); none for a callback.
 */
function nameOf(node: Node, parent: Node | undefined, className: string | undefined): string | undefined {
  if (parent?.type === "MethodDefinition" && parent.kind === "constructor") return className;
  const own = named(node.id);
  if (own) return own;
  if (parent?.type === "VariableDeclarator") return named(parent.id);
  if (parent?.type === "Property" || parent?.type === "MethodDefinition" || parent?.type === "PropertyDefinition") return named(parent.key);
  if (parent?.type === "AssignmentExpression" && isNode(parent.left)) return named(parent.left) ?? named(parent.left.property);
  return undefined;
}

const isFunction = (node: Node) =>
  node.type === "FunctionDeclaration" || node.type === "FunctionExpression" || node.type === "ArrowFunctionExpression";

/**
 * Each `.prepare(` call in a source file, named as prepareCallOf names it at run time: by the innermost named function
 * it is in, and a callback's by the named function of the file that calls it, which is the one it is written in
 * unless it is passed to another function of the file (`inBatches(rows, (part) => db.prepare(…))` is inBatches').
 */
export function prepareCallsIn(file: string, text: string): PrepareCall[] {
  const program = parseSync(file, text, { lang: "ts" }).program as unknown as Node;
  const calls: PrepareCall[] = [];
  const lineOf = (offset: number) => text.slice(0, offset).split("\n").length;
  const each = (node: Node, visit: (child: Node) => void) => {
    for (const value of Object.values(node)) for (const child of Array.isArray(value) ? value : [value]) if (isNode(child)) visit(child);
  };
  const classIn = (node: Node, className: string | undefined) =>
    node.type.startsWith("Class") ? (named(node.id) ?? className) : className;
  const functionsOfFile = new Set<string>();
  const collect = (node: Node, parent: Node | undefined, className: string | undefined) => {
    const name = isFunction(node) ? nameOf(node, parent, className) : undefined;
    if (name) functionsOfFile.add(name);
    each(node, (child) => collect(child, node, classIn(node, className)));
  };
  collect(program, undefined, undefined);
  const walk = (node: Node, parent: Node | undefined, owner: string, className: string | undefined) => {
    const name = isFunction(node) ? nameOf(node, parent, className) : undefined;
    const passedTo = isFunction(node) && parent?.type === "CallExpression" ? named(parent.callee) : undefined;
    const own = name ?? (passedTo && functionsOfFile.has(passedTo) ? passedTo : owner);
    const callee = node.callee;
    if (node.type === "CallExpression" && isNode(callee) && callee.type === "MemberExpression" && isNode(callee.property)) {
      if (callee.property.name === "prepare") calls.push({ file, owner: own, site: `line ${lineOf(callee.property.start)}` });
    }
    each(node, (child) => walk(child, node, own, classIn(node, className)));
  };
  walk(program, undefined, "(module)", undefined);
  return calls;
}

/** The calls of `.prepare(` in worker/src no test made, by function: `file function: n of m made`. */
export function unrunCalls(made: readonly PrepareCall[], sourceFiles: ReadonlyMap<string, string>): string[] {
  const key = (call: PrepareCall) => `${call.file} ${call.owner}`;
  const madeSites = new Map<string, Set<string>>();
  for (const call of made) madeSites.set(key(call), (madeSites.get(key(call)) ?? new Set()).add(call.site));
  const written = new Map<string, number>();
  for (const [file, text] of sourceFiles)
    for (const call of prepareCallsIn(file, text)) written.set(key(call), (written.get(key(call)) ?? 0) + 1);
  const lines: string[] = [];
  for (const [owner, count] of written) {
    const ran = madeSites.get(owner)?.size ?? 0;
    if (ran < count) lines.push(`${owner}: ${ran} of ${count} made`);
    // More calls made than found: calls of another function counted under this one (the names disagree), which may
    // hide calls of this one no test made.
    if (ran > count) lines.push(`${owner}: ${ran} made, but ${count} calls of .prepare( found there`);
  }
  // A call made where the source has none: the names disagree (prepareCallOf and nameOf), and the list above is wrong.
  for (const owner of madeSites.keys()) if (!written.has(owner)) lines.push(`${owner}: made, but no call of .prepare( found there`);
  return lines.sort();
}

/** Whether these are every worker test file's modules, each test run (a run of some, or filtered by name, is not). */
function everyWorkerTest(modules: readonly TestModule[]): boolean {
  const testFiles = sources(path.join(workerDir, "test")).filter((file) => file.endsWith(".test.ts") && !file.endsWith(".node.test.ts"));
  return (
    modules.length >= testFiles.length &&
    modules.every((module) => [...module.children.allTests()].every((test) => test.result().state !== "skipped"))
  );
}

export default class UnrunStatementsReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]) {
    const modules = testModules.filter((module) => module.project.name === "worker");
    if (!everyWorkerTest(modules)) return;
    const srcDir = path.join(workerDir, "src");
    const files = new Map(sources(srcDir).map((file) => [file, readFileSync(path.join(srcDir, file), "utf8")]));
    const total = [...files].reduce((sum, [file, text]) => sum + prepareCallsIn(file, text).length, 0);
    const unrun = unrunCalls(
      modules.flatMap((module) => module.meta().prepareCalls ?? []),
      files,
    );
    process.stdout.write(`\nworker/src calls .prepare( ${total} times; functions with calls no worker test made: ${unrun.length}\n`);
    if (unrun.length === 0) return;
    // A statement no test prepares has a plan nobody checked: the run fails, as the plan check fails on a bad plan.
    process.stdout.write(`${unrun.map((line) => `  ${line}\n`).join("")}(their plans are never checked: worker/test/statement-plans.ts)\n`);
    process.exitCode = 1;
  }
}

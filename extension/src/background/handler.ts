// A background message handler: the schema its input must match and the function that answers it. Every message
// from a content script or an extension page is validated against its handler's schema before the handler runs
// (as the worker validates every request with zod), and messaging.ts types the callers from the same two. A new
// handler is one entry in a table of handlers.ts: `name: handler(schema, async (input, sender) => ...)`.
import type browser from "webextension-polyfill";
import { z } from "zod";

type Sender = browser.Runtime.MessageSender;

export interface Handler<S extends z.ZodType, O> {
  input: S;
  run(input: z.output<S>, sender: Sender): Promise<O>;
}

export function handler<S extends z.ZodType, O>(input: S, run: (input: z.output<S>, sender: Sender) => Promise<O>): Handler<S, O> {
  return { input, run };
}

// biome-ignore lint/suspicious/noExplicitAny: a table holds handlers of every output; callers get each entry's exact types.
export type HandlerTable = Record<string, Handler<z.ZodType, any>>;
/** What a caller sends: the schema's input. */
export type HandlerInput<H> = H extends Handler<infer S, unknown> ? z.input<S> : never;
/** What a caller gets back. */
export type HandlerOutput<H> = H extends Handler<z.ZodType, infer O> ? O : never;

/** Runs a handler on an input that matches its schema (defaults filled in); throws, in words, for any other. */
export async function runHandler<S extends z.ZodType, O>(
  type: string,
  entry: Handler<S, O>,
  input: HandlerInput<Handler<S, O>> | unknown,
  sender: Sender,
): Promise<O> {
  const parsed = entry.input.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    throw new Error(`${type} does not take this input (${where}${issue?.message ?? "invalid"})`);
  }
  return entry.run(parsed.data, sender);
}

// Schemas several handlers share.

/** Messages without input. */
export const noInput = z.null();
/** A list from a content script: its strings, anything else left out (a stray value must not refuse the rest). */
export const strings = z
  .array(z.unknown())
  .catch([])
  .transform((values) => values.filter((value): value is string => typeof value === "string"));

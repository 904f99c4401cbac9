/** An error's name and message, for logs: never its stack, never the request (which may carry a token). */
export function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : "unknown error";
}

import { zValidator } from "@hono/zod-validator";
import type { Context, ValidationTargets } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { ErrorResponse } from "../../shared/api";
import { transparentGif } from "../../shared/pixel";

/** Cloudflare sets CF-Connecting-IP on every request it forwards; without it (local dev, tests) nothing is throttled. */
export function clientAddress(request: Request): string | null {
  return request.headers.get("cf-connecting-ip");
}

/** The same 1x1 transparent GIF for every pixel request (42 bytes). */
export const PIXEL_GIF = transparentGif();

export const NO_STORE = "no-store, no-cache, must-revalidate, max-age=0";

export function pixelResponse(): Response {
  return new Response(PIXEL_GIF, {
    status: 200,
    headers: {
      "Content-Type": "image/gif",
      "Content-Length": String(PIXEL_GIF.byteLength),
      "Cache-Control": NO_STORE,
      Expires: "0",
      Pragma: "no-cache",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

/** A plain page that redirects nowhere and echoes nothing from the request. */
export function invalidLinkResponse(): Response {
  return htmlPage(
    "This link is not valid",
    "<p>The tracking link is damaged or was not issued by this server, so it leads nowhere. Ask the sender for the original link.</p>",
    400,
  );
}

export function throttledLinkResponse(): Response {
  return htmlPage("Too many invalid links", "<p>Your network sent too many invalid tracking links. Try again in a minute.</p>", 429, {
    "Retry-After": "60",
  });
}

/**
 * The one plain HTML page the public endpoints answer with: `title` as its title and heading, then `body` (trusted
 * HTML: never text from the request). No script, style or framing; forms post only to this server; never cached.
 */
export function htmlPage(title: string, body: string, status = 200, headers: Record<string, string> = {}): Response {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><meta name="viewport" content="width=device-width">
<title>${title}</title></head>
<body><h1>${title}</h1>${body}</body></html>
`;
  return new Response(html, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": NO_STORE,
      "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
      "Referrer-Policy": "no-referrer",
      "X-Content-Type-Options": "nosniff",
      ...headers,
    },
  });
}

export function redirectResponse(destination: string): Response {
  return new Response(null, {
    status: 302,
    headers: { Location: destination, "Cache-Control": NO_STORE, "Referrer-Policy": "no-referrer" },
  });
}

/** Generic in the status so the typed client can tell error responses from successes by their status code. */
export function jsonError<Status extends ContentfulStatusCode>(
  c: Context,
  status: Status,
  error: string,
  issues?: ErrorResponse["issues"],
) {
  const body: ErrorResponse = issues ? { error, issues } : { error };
  return c.json(body, status);
}

/** zod validation whose failures answer a plain 400 naming each bad field. */
export function validated<Target extends keyof ValidationTargets, Schema extends z.ZodType>(target: Target, schema: Schema) {
  return zValidator(target, schema, (result, c) => {
    if (!result.success) {
      const issues = result.error.issues.map((issue) => ({ path: issue.path.join(".") || "(root)", message: issue.message }));
      return jsonError(c, 400, `invalid ${target === "json" ? "request body" : target}`, issues);
    }
  });
}

// The benchmark's baseline: a bare worker that answers exactly what the tracker answers to a valid hit — the
// same 1x1 GIF with the same headers for /o/*, the same 302 for /c/* — and does nothing else: no routing
// framework, no verification, no queue. It runs under the same `wrangler dev` (same workerd build) as the
// tracker, so the ratio of the two is the tracker's own cost. bench/run.mjs checks at start that both answer
// byte for byte the same.

import { transparentGif } from "../shared/pixel";

const PIXEL_GIF = transparentGif();
const NO_STORE = "no-store, no-cache, must-revalidate, max-age=0";

export default {
  fetch(request: Request): Response {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/o/")) {
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
    if (url.pathname.startsWith("/c/")) {
      return new Response(null, {
        status: 302,
        headers: { Location: url.searchParams.get("u") ?? "/", "Cache-Control": NO_STORE, "Referrer-Policy": "no-referrer" },
      });
    }
    return new Response("baseline\n");
  },
} satisfies ExportedHandler;

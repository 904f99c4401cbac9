// The 1x1 transparent GIF (42 bytes, GIF89a) the whole project uses: the tracker answers a pixel request with it, the
// sender's Gmail shows it (as a data: URL) where a pixel was neutralised, and the tests' and benches' stand-ins for
// Google's image proxy and for the tracker answer with it. Import-free, so every bundle and Node can take it as it is.
export const TRANSPARENT_GIF_BASE64 = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";

/** The GIF's bytes, decoded from the one text above. */
export function transparentGif(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(TRANSPARENT_GIF_BASE64), (ch) => ch.charCodeAt(0));
}

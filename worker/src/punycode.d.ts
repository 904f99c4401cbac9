// The punycode package (package.json) ships no types. "punycode/", as its README asks, is the package and not Node's
// deprecated built-in module of the same name.
declare module "punycode/" {
  /** A domain with each `xn--` label decoded (RFC 3492); other labels as they are. Throws RangeError on a bad label. */
  export function toUnicode(domain: string): string;
}

/** A file's text, imported with Vite's `?raw` (wrangler.toml, read by a test to check a name the worker repeats). */
declare module "*?raw" {
  const text: string;
  export default text;
}

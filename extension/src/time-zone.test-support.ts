// Runs a test's body in another time zone: Node reads process.env.TZ again whenever it is set, so dates made inside
// follow that zone's rules (a daylight saving change is what these tests need; the machine's zone may have none).
export async function inTimeZone<T>(zone: string, body: () => T | Promise<T>): Promise<T> {
  const previous = process.env.TZ;
  process.env.TZ = zone;
  try {
    return await body();
  } finally {
    if (previous === undefined) delete process.env.TZ;
    else process.env.TZ = previous;
  }
}

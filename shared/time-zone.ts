/** Whether the runtime knows `zone` as an IANA time zone ("Europe/London"); workerd and browsers carry the same data. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// Lengths of time in milliseconds, as tests write their clocks: the source's own (shared/durations.ts), named shorter.
export { DAY_MS as DAY, HOUR_MS as HOUR, MINUTE_MS as MINUTE } from "../shared/durations";

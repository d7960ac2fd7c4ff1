/** Milliseconds in a day. */
export const MILLIS_PER_DAY = 86_400_000;

/**
 * Whole days from `earlier` to `later` (ms since the epoch), rounded down;
 * negative when `later` is before `earlier`.
 */
export function daysBetween(earlier: number, later: number): number {
  return Math.floor((later - earlier) / MILLIS_PER_DAY);
}

/** `time` (ms since the epoch) plus `days` whole days. */
export function addDays(time: number, days: number): number {
  return time + days * MILLIS_PER_DAY;
}

/** Midnight UTC of the day `time` falls on. */
export function startOfDayUtc(time: number): number {
  return Math.floor(time / MILLIS_PER_DAY) * MILLIS_PER_DAY;
}

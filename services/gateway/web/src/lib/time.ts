/**
 * Moments from the API are RFC 3339 in UTC ("2026-12-06T10:00:00.123456Z"); the app shows them in the
 * viewer's own time zone and locale, through this one helper.
 */

const HAS_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;

/** The moment an API timestamp names; one without an offset is UTC, as every API moment is. */
export function parseMoment(value: string): Date {
  const utc = HAS_OFFSET.test(value) ? value : `${value}Z`;
  // Date parsing is specified to milliseconds; the API sends microseconds.
  return new Date(utc.replace(/(\.\d{3})\d+/, "$1"));
}

/** A timestamp for people: date and time in the viewer's zone (or `timeZone`), "—" when absent or unreadable. */
export function formatMoment(value: string | null | undefined, timeZone?: string): string {
  if (!value) return "—";
  const moment = parseMoment(value);
  if (Number.isNaN(moment.getTime())) return "—";
  // A new formatter each time: it reads the viewer's zone when made, and that zone can change.
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone }).format(moment);
}

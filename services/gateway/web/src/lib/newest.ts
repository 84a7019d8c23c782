/** The item with the latest timestamp (ISO 8601 in UTC, so text order is time order); null for none. */
export function newest<T>(items: T[], at: (item: T) => string): T | null {
  return items.reduce<T | null>((found, item) => (found === null || at(item) > at(found) ? item : found), null);
}

import { afterEach, describe, expect, it, vi } from "vitest";
import { formatMoment, parseMoment } from "./time";

// The viewer's zone: Node reads TZ whenever it changes.
const viewerIn = (zone: string) => vi.stubEnv("TZ", zone);

afterEach(() => {
  vi.unstubAllEnvs();
});

function inZone(value: string, timeZone: string): string {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone }).format(
    new Date(value),
  );
}

describe("parseMoment", () => {
  it("reads the API's microsecond UTC timestamps", () => {
    expect(parseMoment("2026-12-06T10:00:00.123456Z").toISOString()).toBe("2026-12-06T10:00:00.123Z");
  });
  it("takes a timestamp without an offset to be UTC, never local time", () => {
    viewerIn("America/New_York");
    expect(parseMoment("2026-12-06T10:00:00").toISOString()).toBe("2026-12-06T10:00:00.000Z");
    expect(parseMoment("2026-12-06T10:00:00.5").toISOString()).toBe("2026-12-06T10:00:00.500Z");
  });
  it("keeps an explicit offset", () => {
    expect(parseMoment("2026-12-06T11:30:00+01:30").toISOString()).toBe("2026-12-06T10:00:00.000Z");
  });
});

describe("formatMoment", () => {
  it("shows the moment in the viewer's time zone", () => {
    viewerIn("Asia/Kolkata");
    const shown = formatMoment("2026-12-06T10:00:00.123456Z");
    expect(shown).toBe(inZone("2026-12-06T10:00:00Z", "Asia/Kolkata"));
    expect(shown).toMatch(/3:30/);
    viewerIn("America/Los_Angeles");
    expect(formatMoment("2026-12-06T10:00:00.123456Z")).toMatch(/2:00/);
  });
  it("shows a timestamp without an offset as the UTC moment it is", () => {
    expect(formatMoment("2026-12-06T10:00:00", "America/New_York")).toBe(
      inZone("2026-12-06T10:00:00Z", "America/New_York"),
    );
    expect(formatMoment("2026-12-06T10:00:00", "America/New_York")).toMatch(/5:00/);
  });
  it("marks absent or unreadable values", () => {
    expect(formatMoment(null)).toBe("—");
    expect(formatMoment(undefined)).toBe("—");
    expect(formatMoment("")).toBe("—");
    expect(formatMoment("yesterday")).toBe("—");
  });
});

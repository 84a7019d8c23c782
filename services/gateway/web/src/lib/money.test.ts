import { describe, expect, it } from "vitest";
import { formatCost, formatPrice, sumMoney } from "./money";

describe("formatPrice", () => {
  it("shows dollars and cents with grouping", () => {
    expect(formatPrice("0.25")).toBe("$0.25");
    expect(formatPrice("12.5")).toBe("$12.50");
    expect(formatPrice("1234567")).toBe("$1,234,567.00");
  });
  it("rounds half away from zero on exact decimals, not floats", () => {
    expect(formatPrice("1.005")).toBe("$1.01"); // a float would print 1.00
    expect(formatPrice("0.004999")).toBe("$0.00");
    expect(formatPrice("-0.125")).toBe("−$0.13");
  });
  it("marks hidden amounts and never shows a negative zero", () => {
    expect(formatPrice(null)).toBe("—");
    expect(formatPrice(undefined)).toBe("—");
    expect(formatPrice("-0.001")).toBe("$0.00");
  });
  it("refuses what is not a decimal", () => {
    expect(() => formatPrice("abc")).toThrow();
    expect(() => formatPrice("1.2.3")).toThrow();
  });
  it("reads exponent notation exactly", () => {
    expect(formatPrice("0E-10")).toBe("$0.00");
    expect(formatPrice("1.5E+3")).toBe("$1,500.00");
    expect(formatCost("1.25E-4")).toBe("$0.000125");
  });
});

describe("formatCost", () => {
  it("keeps fractions of a cent, trimmed to at least two decimals", () => {
    expect(formatCost("0.000123")).toBe("$0.000123");
    expect(formatCost("0.1000000")).toBe("$0.10");
    expect(formatCost("12")).toBe("$12.00");
    expect(formatCost("0.00000049")).toBe("$0.00");
    expect(formatCost("0.0000005")).toBe("$0.000001");
  });
});

describe("sumMoney", () => {
  it("adds exactly where floats drift", () => {
    expect(sumMoney(["0.1", "0.2"])).toBe("0.3");
    expect(sumMoney(["0.25", "0.25", "0.25", null])).toBe("0.75");
    expect(sumMoney(["1.5", "-2.25"])).toBe("-0.75");
    expect(sumMoney([])).toBe("0");
  });
});

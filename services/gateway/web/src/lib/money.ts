// Money arrives from the API as exact decimal strings ("0.25", "0.0001234"); it is never a float here.

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/;

interface Parsed {
  negative: boolean;
  units: bigint; // the amount × 10^scale
  scale: number;
}

function parse(value: string): Parsed {
  const match = DECIMAL.exec(value.trim());
  if (!match) throw new Error(`not a decimal amount: ${value}`);
  const fraction = match[3] ?? "";
  const exponent = Number(match[4] ?? "0"); // Python's Decimal may print 0E-10 or 1.5E+3
  const units = BigInt((match[2] ?? "0") + fraction);
  const scale = fraction.length - exponent;
  if (scale < 0) return { negative: match[1] === "-", units: units * 10n ** BigInt(-scale), scale: 0 };
  return { negative: match[1] === "-", units, scale };
}

/** Rounds half away from zero to `places` decimals and returns the digits. */
function roundTo(parsed: Parsed, places: number): { whole: string; fraction: string } {
  let units = parsed.units;
  if (parsed.scale > places) {
    const divisor = 10n ** BigInt(parsed.scale - places);
    const remainder = units % divisor;
    units = units / divisor + (remainder * 2n >= divisor ? 1n : 0n);
  } else {
    units = units * 10n ** BigInt(places - parsed.scale);
  }
  const digits = units.toString().padStart(places + 1, "0");
  return { whole: digits.slice(0, digits.length - places), fraction: digits.slice(digits.length - places) };
}

function group(whole: string): string {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function render(negative: boolean, whole: string, fraction: string): string {
  const isZero = /^0*$/.test(whole + fraction);
  const sign = negative && !isZero ? "−" : "";
  return `${sign}$${group(whole)}${fraction ? `.${fraction}` : ""}`;
}

/** A price or total: dollars and cents ("$1,234.50"). `null` (hidden from viewers or unknown) is "—". */
export function formatPrice(value: string | null | undefined): string {
  if (value === null || value === undefined) return "—";
  const parsed = parse(value);
  const { whole, fraction } = roundTo(parsed, 2);
  return render(parsed.negative, whole, fraction);
}

/**
 * A provider cost, which is often a fraction of a cent: at least two decimals, up to six, trailing
 * zeros trimmed ("$0.000123", "$0.10", "$12.00").
 */
export function formatCost(value: string | null | undefined): string {
  if (value === null || value === undefined) return "—";
  const parsed = parse(value);
  const { whole, fraction } = roundTo(parsed, 6);
  const trimmed = fraction.replace(/0+$/, "").padEnd(2, "0");
  return render(parsed.negative, whole, trimmed);
}

/** Sums decimal strings exactly; the result has the largest scale of its inputs. */
export function sumMoney(values: ReadonlyArray<string | null | undefined>): string {
  const present = values.filter((v): v is string => typeof v === "string").map(parse);
  const scale = Math.max(0, ...present.map((p) => p.scale));
  let total = 0n;
  for (const p of present) {
    const units = p.units * 10n ** BigInt(scale - p.scale);
    total += p.negative ? -units : units;
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? "-" : ""}${whole}${scale ? `.${fraction}` : ""}`;
}

/** For charts only (axis positions); never for display or arithmetic of amounts. */
export function toChartNumber(value: string | null | undefined): number {
  return value ? Number(value) : 0;
}

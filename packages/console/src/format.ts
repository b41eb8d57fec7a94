/**
 * Values formatted as Grafana formats its units (the ids of config/dashboards: percent, percentunit, ms, req/s,
 * bytes, short, celsius, watt, currencyUSD): the same suffixes, SI steps for `short`, the largest fitting time unit.
 */
const SI = ['', 'K', 'Mil', 'Bil', 'Tri'];

function decimals(value: number): number {
  const size = Math.abs(value);
  return size === 0 || size >= 100 ? 0 : size >= 10 ? 1 : 2;
}

const fixed = (value: number): string => value.toFixed(Number.isInteger(value) ? 0 : decimals(value));

/** `value` scaled by `base` (1000, or 1024 for bytes) with `steps` as suffixes (`K`, `M`…, or prefixed units). */
function scaled(value: number, steps: readonly string[], base = 1000): string {
  let rest = value;
  let step = 0;
  while (Math.abs(rest) >= base && step < steps.length - 1) {
    rest /= base;
    step++;
  }
  return `${fixed(rest)}${steps[step]}`;
}

const short = (value: number): string =>
  scaled(
    value,
    SI.map((suffix) => (suffix === '' ? '' : ` ${suffix}`)),
  );

function duration(ms: number): string {
  const size = Math.abs(ms);
  if (size < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (size < 1000) return `${fixed(ms)} ms`;
  if (size < 60_000) return `${fixed(ms / 1000)} s`;
  if (size < 3_600_000) return `${fixed(ms / 60_000)} min`;
  return `${fixed(ms / 3_600_000)} hour`;
}

const bytes = (value: number): string => scaled(value, [' B', ' KiB', ' MiB', ' GiB', ' TiB'], 1024);

/** The text of `value` in `unit`; "No data" for null, as Grafana says. */
export function formatValue(value: number | null | undefined, unit: string | null): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'No data';
  switch (unit) {
    case 'percent':
      return `${fixed(value)}%`;
    case 'percentunit':
      return `${fixed(value * 100)}%`;
    case 'ms':
      return duration(value);
    case 's':
      return duration(value * 1000);
    case 'req/s':
    case 'reqps':
      return `${short(value)} req/s`;
    case 'bytes':
      return bytes(value);
    case 'celsius':
      return `${fixed(value)}°C`;
    case 'watt':
      return scaled(value, [' W', ' kW', ' MW', ' GW']);
    case 'currencyUSD':
      return `$${scaled(value, ['', 'K', 'M', 'B', 'T'])}`;
    default:
      return short(value);
  }
}

/** How long ago `at` was, for "updated 3 s ago". */
export function age(at: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** The upper bound of a gauge for a unit: 100 for percent, 1 for percentunit, else the value's own scale. */
export function gaugeMax(unit: string | null, value: number): number {
  if (unit === 'percent') return 100;
  if (unit === 'percentunit') return 1;
  const magnitude = 10 ** Math.ceil(Math.log10(Math.max(Math.abs(value), 1)));
  return magnitude;
}

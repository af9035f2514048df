// Grafana's value formats for the units the stack's dashboards use (fieldConfig.defaults.unit),
// after @grafana/data's valueFormats: a scaled number plus a suffix.

// Decimals Grafana picks when the panel sets none: enough to show about three significant digits.
function autoDecimals(value) {
  const abs = Math.abs(value);
  if (abs === 0 || !Number.isFinite(abs)) return 0;
  if (abs >= 100) return 0;
  if (abs >= 10) return 1;
  if (abs >= 1) return 2;
  return Math.min(6, Math.max(2, 1 - Math.floor(Math.log10(abs)) + 1));
}

function fixed(value, decimals) {
  const d = decimals ?? autoDecimals(value);
  const text = value.toFixed(d);
  // Auto decimals drop trailing zeros as Grafana does ("1.50" -> "1.5"); set decimals keep them.
  return decimals === undefined || decimals === null ? text.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') : text;
}

function scaled(value, decimals, factor, suffixes, joiner = ' ') {
  let v = value;
  let i = 0;
  while (Math.abs(v) >= factor && i < suffixes.length - 1) {
    v /= factor;
    i += 1;
  }
  const suffix = suffixes[i];
  return suffix ? `${fixed(v, decimals)}${joiner}${suffix}` : fixed(v, decimals);
}

const SHORT = ['', 'K', 'Mil', 'Bil', 'Tri', 'Quadr'];
const IEC_BYTES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const IEC_RATE = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s', 'TiB/s', 'PiB/s'];

function short(value, decimals, suffix = '') {
  const text = scaled(value, decimals, 1000, SHORT, ' ');
  return suffix ? `${text} ${suffix}` : text;
}

// Durations: the largest unit the value reaches, as Grafana's toSeconds/toMilliSeconds.
function duration(valueSeconds, decimals, zeroUnit = 's') {
  const abs = Math.abs(valueSeconds);
  const steps = [
    [31536000, 'year'], [604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'min'], [1, 's'],
    [1e-3, 'ms'], [1e-6, '\u00b5s'], [1e-9, 'ns'],
  ];
  if (abs === 0) return `${fixed(0, decimals)} ${zeroUnit}`;
  for (const [size, name] of steps) {
    if (abs >= size) return `${fixed(valueSeconds / size, decimals)} ${name}`;
  }
  return `${fixed(valueSeconds / 1e-9, decimals)} ns`;
}

export function formatValue(value, unit, decimals) {
  if (value === null || value === undefined || Number.isNaN(value)) return 'No data';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const d = decimals === undefined || decimals === null || decimals === '' ? undefined : Number(decimals);
  switch (unit) {
    case 'percent': return `${fixed(value, d)}%`;
    case 'percentunit': return `${fixed(value * 100, d)}%`;
    case 's': return duration(value, d);
    case 'ms': return duration(value / 1e3, d, 'ms');
    case '\u00b5s': case 'us': return duration(value / 1e6, d, '\u00b5s');
    case 'ns': return duration(value / 1e9, d, 'ns');
    case 'bytes': case 'decbytes': return scaled(value, d, 1024, IEC_BYTES);
    case 'Bps': case 'binBps': return scaled(value, d, 1024, IEC_RATE);
    case 'reqps': return short(value, d, 'req/s');
    case 'ops': return short(value, d, 'ops/s');
    case 'short': return short(value, d);
    case 'none': case '': case undefined: case null: return fixed(value, d);
    default: return `${fixed(value, d)} ${unit}`;
  }
}

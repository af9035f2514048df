// Grafana's and Kibana's relative times: "now", "now-15m", "now-1d/d", epoch milliseconds, or an
// ISO date. Units as in their datemath: s m h d w M y.
const UNIT_MS = { s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000 };

function roundDown(date, unit) {
  const d = new Date(date);
  switch (unit) {
    case 'y': d.setMonth(0, 1); d.setHours(0, 0, 0, 0); break;
    case 'M': d.setDate(1); d.setHours(0, 0, 0, 0); break;
    case 'w': d.setDate(d.getDate() - d.getDay()); d.setHours(0, 0, 0, 0); break;
    case 'd': d.setHours(0, 0, 0, 0); break;
    case 'h': d.setMinutes(0, 0, 0); break;
    case 'm': d.setSeconds(0, 0); break;
    case 's': d.setMilliseconds(0); break;
    default: break;
  }
  return d.getTime();
}

function shift(ms, amount, unit) {
  if (UNIT_MS[unit]) return ms + amount * UNIT_MS[unit];
  const d = new Date(ms);
  if (unit === 'M') d.setMonth(d.getMonth() + amount);
  else if (unit === 'y') d.setFullYear(d.getFullYear() + amount);
  else return NaN;
  return d.getTime();
}

// Milliseconds since the epoch, or NaN when the text is no time at all.
export function parseTime(text, nowMs = Date.now()) {
  const value = String(text ?? '').trim();
  if (/^\d+$/.test(value)) return Number(value);
  if (!value.startsWith('now')) {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? NaN : parsed;
  }
  let ms = nowMs;
  const ops = value.slice(3);
  const re = /([+-])(\d+)([smhdwMy])|\/([smhdwMy])/gy;
  let consumed = 0;
  let match;
  while ((match = re.exec(ops)) !== null) {
    consumed = re.lastIndex;
    if (match[4]) ms = roundDown(ms, match[4]);
    else ms = shift(ms, (match[1] === '-' ? -1 : 1) * Number(match[2]), match[3]);
  }
  return consumed === ops.length ? ms : NaN;
}

const UNIT_NAMES = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', M: 'month', y: 'year' };

// "Last 15 minutes" for now-15m..now, as both products label their quick ranges.
export function describeRange(from, to) {
  const match = /^now-(\d+)([smhdwMy])$/.exec(from);
  if (match && to === 'now') {
    const n = Number(match[1]);
    return `Last ${n} ${UNIT_NAMES[match[2]]}${n === 1 ? '' : 's'}`;
  }
  const show = (t) => (/^\d+$/.test(t) ? formatDateTime(Number(t)) : t);
  return `${show(from)} to ${show(to)}`;
}

function pad(n, width = 2) {
  return String(n).padStart(width, '0');
}

export function formatDateTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// Kibana's Discover date column: "Dec 6, 2026 @ 06:35:27.123".
export function formatKibanaDate(ms) {
  const d = new Date(ms);
  const month = d.toLocaleString('en-US', { month: 'short' });
  return `${month} ${d.getDate()}, ${d.getFullYear()} @ ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

// "5s" -> 5000; "" or "off" -> 0.
export function intervalToMs(text) {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(String(text || '').trim());
  if (!match) return 0;
  const n = Number(match[1]);
  return match[2] === 'ms' ? n : n * UNIT_MS[match[2]];
}

// 60000 -> "1m", 5000 -> "5s": Kibana's refreshInterval.value as the pickers name it.
export function msToInterval(ms) {
  const n = Number(ms);
  if (!(n > 0)) return '';
  if (n % 60000 === 0) return `${n / 60000}m`;
  return `${Math.round(n / 1000)}s`;
}

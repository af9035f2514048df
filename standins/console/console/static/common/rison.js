// Rison, the URL-friendly JSON Kibana keeps its app state in (`#/?_g=(time:(from:now-15m,
// to:now))&_a=(query:(language:kuery,query:'x'))`), so its links and the console's are one.
// Grammar: https://github.com/Nanonid/rison (objects (k:v), arrays !(..), !t !f !n, 'str').

const ID_FIRST = /[^-0-9 '!:(),*@$]/;
const ID_REST = /[^ '!:(),*@$]/;

export class RisonError extends Error {}

export function decode(text) {
  let i = 0;
  const s = String(text);
  const fail = (what) => {
    throw new RisonError(`rison: ${what} at ${i} in ${s}`);
  };
  function value() {
    const c = s[i];
    if (c === '(') {
      i += 1;
      const out = {};
      if (s[i] === ')') { i += 1; return out; }
      for (;;) {
        const key = atom();
        if (s[i] !== ':') fail('expected ":"');
        i += 1;
        out[key] = value();
        if (s[i] === ',') { i += 1; continue; }
        if (s[i] === ')') { i += 1; return out; }
        fail('expected "," or ")"');
      }
    }
    if (c === '!') {
      const next = s[i + 1];
      i += 2;
      if (next === 't') return true;
      if (next === 'f') return false;
      if (next === 'n') return null;
      if (next === '(') {
        const out = [];
        if (s[i] === ')') { i += 1; return out; }
        for (;;) {
          out.push(value());
          if (s[i] === ',') { i += 1; continue; }
          if (s[i] === ')') { i += 1; return out; }
          fail('expected "," or ")"');
        }
      }
      fail(`unknown "!${next}"`);
    }
    return atom(true);
  }
  function atom(numbers = false) {
    if (s[i] === "'") {
      i += 1;
      let out = '';
      while (i < s.length && s[i] !== "'") {
        if (s[i] === '!') { out += s[i + 1]; i += 2; } else { out += s[i]; i += 1; }
      }
      if (s[i] !== "'") fail('unterminated string');
      i += 1;
      return out;
    }
    if (numbers && /[-0-9]/.test(s[i] || '')) {
      const match = /^-?\d+(\.\d+)?(e[-+]?\d+)?/.exec(s.slice(i));
      if (match) { i += match[0].length; return Number(match[0]); }
    }
    const start = i;
    if (!ID_FIRST.test(s[i] || '')) fail('expected a value');
    i += 1;
    while (i < s.length && ID_REST.test(s[i])) i += 1;
    return s.slice(start, i);
  }
  const result = value();
  if (i !== s.length) fail('trailing characters');
  return result;
}

function encodeString(text) {
  if (text !== '' && ID_FIRST.test(text[0]) && [...text.slice(1)].every((c) => ID_REST.test(c))) return text;
  return `'${text.replace(/!/g, '!!').replace(/'/g, "!'")}'`;
}

export function encode(value) {
  if (value === null || value === undefined) return '!n';
  if (value === true) return '!t';
  if (value === false) return '!f';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '!n';
  if (Array.isArray(value)) return `!(${value.map(encode).join(',')})`;
  if (typeof value === 'object') {
    return `(${Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `${encodeString(k)}:${encode(v)}`).join(',')})`;
  }
  return encodeString(String(value));
}

// The _g and _a of a Kibana hash ("#/view/id?_g=(...)&_a=(...)"); {} for a part missing or
// unreadable (a hand-edited link falls back to the defaults, as Kibana does).
export function readHash(hash) {
  const query = String(hash || '').split('?').slice(1).join('?');
  const params = new URLSearchParams(query);
  const part = (name) => {
    const raw = params.get(name);
    if (!raw) return {};
    try {
      const decoded = decode(raw);
      return decoded && typeof decoded === 'object' && !Array.isArray(decoded) ? decoded : {};
    } catch {
      return {};
    }
  };
  return { g: part('_g'), a: part('_a') };
}

// "_g=...&_a=...", escaped for a URL but keeping rison's brackets readable, as Kibana's links.
export function writeHashQuery(parts) {
  return Object.entries(parts)
    .filter(([, v]) => v && Object.keys(v).length)
    .map(([k, v]) => `${k}=${encodeURIComponent(encode(v)).replace(/%28/g, '(').replace(/%29/g, ')').replace(/%2C/g, ',').replace(/%3A/g, ':').replace(/%21/g, '!').replace(/%27/g, "'")}`)
    .join('&');
}

// KQL (Kibana Query Language) to Elasticsearch's query DSL, as Kibana's kuery does it for the
// common forms: field:value, field:"a phrase", field:val*, field:*, field:(a or b), free text,
// and/or/not with parentheses, and ranges field >= 5. Throws KqlSyntaxError with the position.

export class KqlSyntaxError extends Error {
  constructor(message, query, position) {
    super(`${message} at position ${position}\n${query}\n${'-'.repeat(position)}^`);
    this.position = position;
  }
}

const KEYWORDS = new Set(['and', 'or', 'not']);

function tokenize(query) {
  const tokens = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i];
    if (/\s/.test(c)) { i += 1; continue; }
    if (c === '(' || c === ')' || c === ':' || c === '{' || c === '}') { tokens.push({ type: c, pos: i }); i += 1; continue; }
    if (c === '<' || c === '>') {
      const op = query[i + 1] === '=' ? `${c}=` : c;
      tokens.push({ type: 'range', op, pos: i });
      i += op.length;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < query.length && query[j] !== '"') {
        if (query[j] === '\\' && j + 1 < query.length) { text += query[j + 1]; j += 2; } else { text += query[j]; j += 1; }
      }
      if (j >= query.length) throw new KqlSyntaxError('Expected """ but end of input found', query, query.length);
      tokens.push({ type: 'quoted', text, pos: i });
      i = j + 1;
      continue;
    }
    let j = i;
    let text = '';
    let wildcard = false;
    while (j < query.length && !/[\s():<>"{}]/.test(query[j])) {
      if (query[j] === '\\' && j + 1 < query.length) { text += query[j + 1]; j += 2; continue; }
      if (query[j] === '*') wildcard = true;
      text += query[j];
      j += 1;
    }
    const lower = text.toLowerCase();
    tokens.push(KEYWORDS.has(lower) && !wildcard ? { type: lower, pos: i } : { type: 'word', text, wildcard, pos: i });
    i = j;
  }
  tokens.push({ type: 'end', pos: query.length });
  return tokens;
}

class Parser {
  constructor(query) {
    this.query = query;
    this.tokens = tokenize(query);
    this.i = 0;
  }

  peek(offset = 0) { return this.tokens[this.i + offset]; }
  next() { return this.tokens[this.i++]; }

  fail(expected) {
    const token = this.peek();
    const found = token.type === 'end' ? 'end of input' : `"${this.query.slice(token.pos, token.pos + 1)}"`;
    throw new KqlSyntaxError(`Expected ${expected} but ${found} found`, this.query, token.pos);
  }

  expect(type, expected) {
    if (this.peek().type !== type) this.fail(expected);
    return this.next();
  }

  parse() {
    if (this.peek().type === 'end') return { match_all: {} };
    const node = this.orExpr(null);
    if (this.peek().type !== 'end') this.fail('AND, OR, NOT, field name, value or end of input');
    return node;
  }

  // field is set inside field:( ... ), where the values share the field.
  orExpr(field) {
    const parts = [this.andExpr(field)];
    while (this.peek().type === 'or') { this.next(); parts.push(this.andExpr(field)); }
    return parts.length === 1 ? parts[0] : { bool: { should: parts, minimum_should_match: 1 } };
  }

  andExpr(field) {
    const parts = [this.notExpr(field)];
    while (this.peek().type === 'and') { this.next(); parts.push(this.notExpr(field)); }
    return parts.length === 1 ? parts[0] : { bool: { filter: parts } };
  }

  notExpr(field) {
    if (this.peek().type === 'not') {
      this.next();
      return { bool: { must_not: this.notExpr(field) } };
    }
    return this.primary(field);
  }

  primary(field) {
    const token = this.peek();
    if (token.type === '(') {
      this.next();
      const node = this.orExpr(field);
      this.expect(')', '")"');
      return node;
    }
    if (field !== null) return this.valueQuery(field, this.value());
    if (token.type === 'word' && this.peek(1).type === ':') {
      this.next();
      this.next();
      const name = token.text;
      const after = this.peek();
      if (after.type === '(') {
        this.next();
        const node = this.orExpr(name);
        this.expect(')', '")"');
        return node;
      }
      if (after.type === '{') this.fail('a value (nested queries are not supported by the console)');
      if (after.type === 'word' && after.text.startsWith('[')) return this.bracketRange(name);
      return this.valueQuery(name, this.value());
    }
    if (token.type === 'word' && this.peek(1).type === 'range') {
      this.next();
      const { op } = this.next();
      const bound = this.peek();
      if (bound.type !== 'word' && bound.type !== 'quoted') this.fail('a value');
      this.next();
      const key = { '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' }[op];
      return { range: { [token.text]: { [key]: bound.text } } };
    }
    return this.valueQuery(null, this.value());
  }

  // field:[a TO b], Lucene's inclusive range, accepted in KQL too (Kibana users type it).
  bracketRange(name) {
    const low = this.next();
    const to = this.next();
    const high = this.next();
    if (to.type !== 'word' || to.text.toLowerCase() !== 'to' || high.type !== 'word' || !high.text.endsWith(']')) {
      this.i -= 3;
      this.fail('[from TO to]');
    }
    const bound = (text) => (text === '*' ? undefined : text);
    const range = { gte: bound(low.text.slice(1)), lte: bound(high.text.slice(0, -1)) };
    return { range: { [name]: Object.fromEntries(Object.entries(range).filter(([, v]) => v !== undefined)) } };
  }

  // One value: a quoted phrase, or unquoted words up to the next keyword or bracket (KQL joins
  // "hello world" into one value, matched word by word).
  value() {
    const token = this.peek();
    if (token.type === 'quoted') { this.next(); return { text: token.text, quoted: true }; }
    if (token.type !== 'word') this.fail('a value');
    const words = [];
    let wildcard = false;
    while (this.peek().type === 'word' && this.peek(1).type !== ':' && this.peek(1).type !== 'range') {
      const word = this.next();
      words.push(word.text);
      wildcard = wildcard || word.wildcard;
    }
    if (!words.length) this.fail('a value');
    return { text: words.join(' '), quoted: false, wildcard };
  }

  valueQuery(field, value) {
    if (field === null) {
      // A quoted phrase on every field: query_string's phrase, which Elasticsearch and logstore
      // both match word-for-word in order (logstore's multi_match has no phrase type).
      if (value.quoted) return { query_string: { query: `"${value.text.replace(/["\\]/g, '\\$&')}"` } };
      if (value.wildcard) return { query_string: { query: escapeLuceneKeepWildcards(value.text) } };
      return { multi_match: { type: 'best_fields', query: value.text, lenient: true } };
    }
    if (value.quoted) return { match_phrase: { [field]: value.text } };
    if (value.text === '*') return { exists: { field } };
    if (value.wildcard) return { query_string: { fields: [field], query: escapeLuceneKeepWildcards(value.text) } };
    return { match: { [field]: value.text } };
  }
}

// Lucene's special characters escaped, * left as the wildcard (what Kibana sends for KQL
// wildcards in query_string).
function escapeLuceneKeepWildcards(text) {
  return text.replace(/[+\-=&|><!(){}[\]^"~?:\\/]/g, '\\$&').replace(/ /g, '\\ ');
}

export function kqlToQuery(query) {
  return new Parser(String(query || '')).parse();
}

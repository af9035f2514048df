// Dashboard template variables: `query` (label_values([match,] label) on a Prometheus
// datasource) and `custom` (a comma list), their drop-downs, and the substitution Grafana's
// frontend does in every query before it is sent.
import { getJSON } from '../common/http.js';
import { h } from '../common/dom.js';

const ALL = '$__all';

function parseLabelValues(query) {
  const match = /^\s*label_values\s*\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(query || '');
  if (!match) return null;
  return { match: match[1] || '', label: match[2] };
}

function queryText(variable) {
  const q = variable.query;
  if (q && typeof q === 'object') return q.query || '';
  return q || variable.definition || '';
}

function sortValues(values, sort) {
  const out = [...values];
  // Grafana's sort: 1/2 alphabetical asc/desc, 3/4 numerical asc/desc, 5/6 case-insensitive.
  const numeric = (a, b) => Number(a) - Number(b);
  const alpha = (a, b) => a.localeCompare(b);
  const insensitive = (a, b) => a.toLowerCase().localeCompare(b.toLowerCase());
  const byKind = { 1: alpha, 2: alpha, 3: numeric, 4: numeric, 5: insensitive, 6: insensitive };
  const compare = byKind[sort];
  if (compare) {
    out.sort(compare);
    if (sort % 2 === 0) out.reverse();
  }
  return out;
}

// The values a variable can take. Substitutes variables defined before it (chained variables).
async function loadOptions(variable, { rangeMs, substitute }) {
  if (variable.type === 'custom') {
    return queryText(variable).split(',').map((v) => v.trim()).filter((v) => v !== '');
  }
  if (variable.type === 'constant' || variable.type === 'textbox') {
    return [queryText(variable)];
  }
  if (variable.type !== 'query') return [];
  const parsed = parseLabelValues(substitute(queryText(variable)));
  if (!parsed) throw new Error(`Variable ${variable.name}: only label_values([match,] label) queries are supported, got "${queryText(variable)}"`);
  const uid = (variable.datasource && variable.datasource.uid) || 'prometheus';
  const params = new URLSearchParams();
  if (parsed.match) params.append('match[]', parsed.match);
  params.append('start', String(Math.floor(rangeMs.from / 1000)));
  params.append('end', String(Math.ceil(rangeMs.to / 1000)));
  const answer = await getJSON(`/api/datasources/uid/${encodeURIComponent(uid)}/resources/api/v1/label/${encodeURIComponent(parsed.label)}/values?${params}`);
  let values = (answer && answer.data) || [];
  if (variable.regex) {
    const re = new RegExp(variable.regex.replace(/^\/(.*)\/[a-z]*$/, '$1'));
    values = values.filter((v) => re.test(v));
  }
  return sortValues(values, variable.sort);
}

export class Variables {
  constructor(model, params) {
    this.list = ((model.templating && model.templating.list) || []).filter((v) => v.name);
    this.current = new Map();
    this.options = new Map();
    this.errors = new Map();
    for (const variable of this.list) {
      const fromUrl = params.getAll(`var-${variable.name}`);
      const fromModel = variable.current && variable.current.value;
      const start = fromUrl.length ? fromUrl : fromModel;
      if (start !== undefined && start !== null && start !== '') this.current.set(variable.name, Array.isArray(start) ? start : [start]);
    }
  }

  async load(rangeMs) {
    for (const variable of this.list) {
      try {
        const values = await loadOptions(variable, { rangeMs, substitute: (text) => this.substitute(text) });
        const options = variable.includeAll ? [ALL, ...values] : values;
        this.options.set(variable.name, options);
        this.errors.delete(variable.name);
        const chosen = (this.current.get(variable.name) || []).filter((v) => options.includes(v) || v === ALL);
        if (!chosen.length) this.current.set(variable.name, options.length ? [options[0]] : []);
      } catch (error) {
        this.errors.set(variable.name, error.message);
        this.options.set(variable.name, []);
      }
    }
  }

  // The values a variable stands for in a query ($__all expands to every option).
  valuesOf(variable) {
    const chosen = this.current.get(variable.name) || [];
    if (chosen.includes(ALL)) {
      if (variable.allValue) return { text: variable.allValue, raw: true };
      return { list: (this.options.get(variable.name) || []).filter((v) => v !== ALL) };
    }
    return { list: chosen };
  }

  format(variable, formatName) {
    const value = this.valuesOf(variable);
    if (value.raw) return value.text;
    const list = value.list;
    if (formatName === 'csv') return list.join(',');
    if (formatName === 'pipe') return list.join('|');
    if (formatName === 'raw' || list.length === 1) return list[0] ?? '';
    // Several values in a PromQL regex matcher: (a|b), each regex-escaped as Grafana does.
    return `(${list.map((v) => v.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&')).join('|')})`;
  }

  substitute(text) {
    if (typeof text !== 'string' || !this.list.length) return text;
    const byName = new Map(this.list.map((v) => [v.name, v]));
    return text.replace(/\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]/g, (whole, plain, braced, bracedFormat, bracketed, bracketedFormat) => {
      const name = plain || braced || bracketed;
      const variable = byName.get(name);
      if (!variable) return whole;
      return this.format(variable, bracedFormat || bracketedFormat);
    });
  }

  // var-<name>=... for the URL, as Grafana writes it.
  urlParams(params) {
    for (const variable of this.list) {
      params.delete(`var-${variable.name}`);
      for (const value of this.current.get(variable.name) || []) params.append(`var-${variable.name}`, value);
    }
  }

  // The submenu of drop-downs; onChange after the user picks a value.
  render(onChange) {
    const visible = this.list.filter((v) => v.hide !== 2);
    return visible.map((variable) => {
      const label = variable.label || variable.name;
      const options = this.options.get(variable.name) || [];
      const chosen = this.current.get(variable.name) || [];
      const select = h('select', {
        id: `var-${variable.name}`,
        'aria-label': `Template variable ${label}`,
        'data-testid': `data-testid Dashboard template variables Variable Value DropDown value link text ${chosen.join(' + ')}`,
        onchange: () => {
          this.current.set(variable.name, [select.value]);
          select.setAttribute('data-testid', `data-testid Dashboard template variables Variable Value DropDown value link text ${select.value}`);
          onChange();
        },
      }, options.map((value) => h('option', { value, selected: chosen.includes(value) }, value === ALL ? 'All' : value)));
      const error = this.errors.get(variable.name);
      return h('div', { class: 'gf-variable', 'data-testid': 'data-testid template variable' },
        h('label', { for: `var-${variable.name}`, class: 'gf-variable-label', 'data-testid': `data-testid Dashboard template variables submenu Label ${label}` }, label),
        variable.hide === 1 ? null : select,
        error ? h('span', { class: 'gf-variable-error', title: error }, `\u26a0 ${error}`) : null);
    });
  }
}

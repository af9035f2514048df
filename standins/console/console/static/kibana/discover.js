// Discover (/app/discover): a query bar (KQL or Lucene), a time picker with auto-refresh (live
// tail), a histogram of hits over time, the newest documents with expandable JSON, a field list
// with each field's top 5 values in the loaded sample, and saved searches.
import { h, clear } from '../common/dom.js';
import { getJSON } from '../common/http.js';
import { parseTime, intervalToMs, msToInterval, formatKibanaDate } from '../common/datemath.js';
import { readHash, writeHashQuery } from '../common/rison.js';
import { timePicker } from '../common/timepicker.js';
import { timeChart } from '../common/chart.js';
import { kibanaChrome, KIBANA_PICKER } from './chrome.js';
import { search, userQuery, timeRangeFilter, autoInterval } from './search.js';
import { KqlSyntaxError } from './kql.js';

const SAMPLE_SIZE = 500; // Kibana's discover:sampleSize
const ROWS_SHOWN = 50; // rows drawn at first; "Load more" draws the rest of the sample
const LANGUAGE_LABEL = { kuery: 'KQL', lucene: 'Lucene' };

// {"a": {"b": 1}} -> {"a.b": 1}; arrays stay values, as Kibana's flattenHit.
export function flatten(source, prefix = '', out = {}) {
  for (const [key, value] of Object.entries(source || {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) flatten(value, path, out);
    else out[path] = value;
  }
  return out;
}

function valueText(value) {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.map(valueText).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// Kibana's field details: the 5 most common values among the loaded documents.
export function topValues(docs, field, limit = 5) {
  const counts = new Map();
  let present = 0;
  for (const doc of docs) {
    if (!(field in doc)) continue;
    present += 1;
    const values = Array.isArray(doc[field]) ? doc[field] : [doc[field]];
    for (const v of values) {
      const key = valueText(v);
      counts.set(key, (counts.get(key) || 0) + 1);
    }
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, limit);
  return { present, top };
}

// Discover's state lives in the hash as Kibana keeps it: "#/view/<saved search>?_g=(time:
// (from:now-15m,to:now),refreshInterval:(pause:!t,value:0))&_a=(columns:!(..),query:(..))".
function readHashState() {
  const path = window.location.hash.replace(/^#\/?/, '').split('?')[0];
  const view = /^view\/(.+)$/.exec(path);
  return { ...readHash(window.location.hash), savedSearchId: view ? decodeURIComponent(view[1]) : null };
}

export class DiscoverPage {
  constructor(root) {
    this.root = root;
    this.docs = [];
    this.hits = [];
    this.columns = [];
    this.timer = null;
    this.runId = 0;
    this.chart = null;
  }

  async load() {
    document.title = 'Discover - console (Kibana)';
    const { g, a, savedSearchId } = readHashState();
    this.savedSearchId = savedSearchId;
    const time = g.time || {};
    const refresh = g.refreshInterval || {};
    const query = a.query || {};
    this.state = {
      query: typeof query.query === 'string' ? query.query : '',
      language: query.language === 'lucene' ? 'lucene' : 'kuery',
      from: time.from || 'now-15m',
      to: time.to || 'now',
      refresh: refresh.pause === false ? msToInterval(refresh.value) : '',
    };
    this.urlHasQuery = Boolean(a.query);
    this.columns = Array.isArray(a.columns) ? a.columns.filter((c) => typeof c === 'string' && c !== '_source') : [];
    this.indexPattern = await this.loadIndexPattern();
    this.render();
    if (savedSearchId) await this.openSavedSearch(savedSearchId, { keepUrlQuery: this.urlHasQuery });
    else this.run();
    this.schedule();
  }

  async loadIndexPattern() {
    try {
      const found = await getJSON('/api/saved_objects/_find?type=index-pattern&per_page=100');
      const first = (found.saved_objects || [])[0];
      if (first) return { id: first.id, title: first.attributes.title, timeField: first.attributes.timeFieldName || '@timestamp' };
    } catch {
      // No index pattern saved: Discover still works on logs-*.
    }
    return { id: 'logs', title: 'logs-*', timeField: '@timestamp' };
  }

  render() {
    this.input = h('input', {
      type: 'text',
      class: 'kbn-query-input',
      'data-test-subj': 'queryInput',
      'aria-label': 'Search',
      placeholder: 'Filter your data using KQL syntax',
      value: this.state.query,
      spellcheck: 'false',
    });
    this.languageButton = h('button', {
      type: 'button',
      class: 'kbn-language-toggle',
      'data-test-subj': 'switchQueryLanguageButton',
      title: 'Switch query language (KQL / Lucene)',
      onclick: () => {
        this.state.language = this.state.language === 'kuery' ? 'lucene' : 'kuery';
        this.updateLanguage();
      },
    });
    this.picker = timePicker({
      state: { from: this.state.from, to: this.state.to, refresh: this.state.refresh },
      ...KIBANA_PICKER,
      onChange: (next) => {
        Object.assign(this.state, next, { query: this.input.value });
        this.schedule();
        this.run();
      },
    });
    const form = h('form', {
      class: 'kbn-querybar',
      'data-test-subj': 'globalQueryBar',
      onsubmit: (event) => {
        event.preventDefault();
        this.state.query = this.input.value;
        this.run();
      },
    }, h('div', { class: 'kbn-query-field' }, this.input, this.languageButton),
    h('button', { type: 'submit', class: 'kbn-hidden-submit', tabindex: '-1', 'aria-hidden': 'true' }, 'Search'),
    this.picker.element);
    this.queryError = h('div', { class: 'kbn-query-error', 'data-test-subj': 'discoverQueryError', role: 'alert', hidden: true });

    this.savedMenu = h('div', { class: 'kbn-popover', 'data-test-subj': 'loadSearchForm', hidden: true });
    const topNav = h('div', { class: 'kbn-topnav', 'data-test-subj': 'top-nav' },
      this.savedTitle = h('span', { class: 'kbn-saved-title', 'data-test-subj': 'discoverCurrentTitle' }),
      h('button', { type: 'button', class: 'kbn-topnav-link', 'data-test-subj': 'discoverNewButton', onclick: () => this.newSearch() }, 'New'),
      h('span', { class: 'kbn-topnav-open' },
        h('button', { type: 'button', class: 'kbn-topnav-link', 'data-test-subj': 'discoverOpenButton', onclick: () => this.toggleSavedMenu() }, 'Open'),
        this.savedMenu));

    this.fieldList = h('ul', { class: 'kbn-field-list', 'data-test-subj': 'fieldList' });
    const sidebar = h('aside', { class: 'kbn-sidebar', 'data-test-subj': 'discover-sidebar' },
      h('div', { class: 'kbn-index-pattern', 'data-test-subj': 'indexPattern-switch-link', title: 'Data view' }, this.indexPattern.title),
      this.fieldSearch = h('input', { type: 'search', class: 'kbn-field-search', placeholder: 'Search field names', 'data-test-subj': 'fieldFilterSearchInput', oninput: () => this.renderFields() }),
      this.fieldList);

    this.hitsText = h('strong', { 'data-test-subj': 'discoverQueryHits' }, '0');
    this.chartBox = h('div', { class: 'kbn-histogram', 'data-test-subj': 'discoverChart' });
    this.intervalText = h('span', { class: 'kbn-interval' });
    this.table = h('table', { class: 'kbn-doc-table', 'data-test-subj': 'discoverDocTable' });
    this.more = h('div', { class: 'kbn-more' });
    this.main = h('section', { class: 'kbn-discover-main', 'data-console-state': 'loading' },
      h('div', { class: 'kbn-hits' }, this.hitsText, h('span', {}, ' hits'), this.intervalText),
      this.chartBox,
      this.resultsBox = h('div', { class: 'kbn-results' }, this.table, this.more));

    this.root.append(kibanaChrome('discover', [{ text: 'Discover', href: '/app/discover' }]),
      h('div', { class: 'kbn-discover', 'data-test-subj': 'discoverApp' },
        topNav, form, this.queryError,
        h('div', { class: 'kbn-discover-body' }, sidebar, this.main)));
    this.updateLanguage();
  }

  updateLanguage() {
    this.languageButton.textContent = LANGUAGE_LABEL[this.state.language];
    this.input.placeholder = this.state.language === 'kuery' ? 'Filter your data using KQL syntax' : 'Filter your data using Lucene syntax';
    this.input.setAttribute('data-query-language', this.state.language);
  }

  rangeMs() {
    const now = Date.now();
    return { from: parseTime(this.state.from, now), to: parseTime(this.state.to, now) };
  }

  syncUrl() {
    const g = {
      time: { from: this.state.from, to: this.state.to },
      refreshInterval: { pause: !this.state.refresh, value: intervalToMs(this.state.refresh) },
    };
    const a = { columns: this.columns, query: { language: this.state.language, query: this.state.query } };
    const path = this.savedSearchId ? `view/${encodeURIComponent(this.savedSearchId)}` : '';
    window.history.replaceState(null, '', `${window.location.pathname}#/${path}?${writeHashQuery({ _g: g, _a: a })}`);
  }

  schedule() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const every = intervalToMs(this.state.refresh);
    if (every > 0) this.timer = setInterval(() => this.run({ tick: true }), every);
  }

  // The store's (or the KQL parser's) reason under the bar; the results of an earlier query go,
  // so nothing on the page claims to answer the query that failed.
  showError(text) {
    this.hits = [];
    this.docs = [];
    this.hitsText.textContent = '0';
    this.intervalText.textContent = '';
    if (this.chart) this.chart.destroy();
    this.chart = null;
    clear(this.chartBox);
    clear(this.table);
    clear(this.more);
    this.renderFields();
    this.queryError.hidden = false;
    this.queryError.replaceChildren(h('strong', {}, 'Unable to run the search'), h('pre', { 'data-test-subj': 'discoverQueryErrorText' }, text));
  }

  async run({ tick = false } = {}) {
    // Live tail: a tick while the last search is still out waits for the next one.
    if (tick && this.inFlight) return;
    const runId = ++this.runId;
    this.syncUrl();
    this.main.setAttribute('data-console-state', 'loading');
    const rangeMs = this.rangeMs();
    let query;
    try {
      query = userQuery(this.state.query, this.state.language);
    } catch (error) {
      if (!(error instanceof KqlSyntaxError)) throw error;
      this.showError(error.message);
      this.main.setAttribute('data-console-state', 'error');
      return;
    }
    const timeField = this.indexPattern.timeField;
    const interval = autoInterval(rangeMs);
    const body = {
      size: SAMPLE_SIZE,
      sort: [{ [timeField]: { order: 'desc' } }],
      track_total_hits: true,
      query: { bool: { filter: [query, timeRangeFilter(timeField, rangeMs)] } },
      aggs: {
        histogram: {
          date_histogram: {
            field: timeField,
            fixed_interval: interval.name,
            min_doc_count: 0,
            extended_bounds: { min: rangeMs.from, max: rangeMs.to },
          },
        },
      },
    };
    let answer;
    this.inFlight = true;
    try {
      answer = await search(this.indexPattern.title, body);
    } catch (error) {
      if (runId !== this.runId) return;
      this.inFlight = false;
      this.showError(error.message);
      this.main.setAttribute('data-console-state', 'error');
      return;
    }
    if (runId !== this.runId) return;
    this.inFlight = false;
    this.queryError.hidden = true;
    clear(this.queryError);
    this.hits = (answer.hits && answer.hits.hits) || [];
    this.docs = this.hits.map((hit) => flatten(hit._source));
    const total = answer.hits && answer.hits.total;
    const count = typeof total === 'number' ? total : (total && total.value) || 0;
    this.hitsText.textContent = count.toLocaleString('en-US');
    this.intervalText.textContent = ` \u00b7 interval: ${interval.name}`;
    const buckets = (answer.aggregations && answer.aggregations.histogram && answer.aggregations.histogram.buckets) || [];
    this.renderChart(buckets, rangeMs);
    this.renderFields();
    this.renderTable();
    this.main.setAttribute('data-console-state', this.hits.length ? 'data' : 'nodata');
  }

  renderChart(buckets, rangeMs) {
    if (this.chart) this.chart.destroy();
    this.chart = null;
    clear(this.chartBox);
    const times = buckets.map((b) => b.key);
    const values = buckets.map((b) => b.doc_count);
    if (!times.length) {
      times.push(rangeMs.from, rangeMs.to);
      values.push(0, 0);
    }
    this.chart = timeChart(this.chartBox, {
      series: [{ name: 'Count', times, values, color: '#54B399' }],
      format: (v) => (v === null || v === undefined ? '' : String(Math.round(v * 100) / 100)),
      theme: { axis: '#69707d', grid: 'rgba(105, 112, 125, 0.15)', text: '#343741' },
      bars: true,
      yRange: [0, null],
    });
  }

  fieldNames() {
    const names = new Set();
    for (const doc of this.docs) for (const key of Object.keys(doc)) names.add(key);
    return [...names].sort();
  }

  renderFields() {
    const needle = (this.fieldSearch.value || '').toLowerCase();
    const names = this.fieldNames().filter((name) => !needle || name.toLowerCase().includes(needle));
    const selected = names.filter((n) => this.columns.includes(n));
    const available = names.filter((n) => !this.columns.includes(n));
    const item = (name) => {
      const details = h('div', { class: 'kbn-field-details', 'data-test-subj': `fieldDetails-${name}`, hidden: true });
      const toggle = h('button', {
        type: 'button',
        class: 'kbn-field-name',
        'data-test-subj': `field-${name}-showDetails`,
        'aria-expanded': 'false',
        onclick: () => {
          details.hidden = !details.hidden;
          toggle.setAttribute('aria-expanded', String(!details.hidden));
          if (!details.hidden) this.fillFieldDetails(details, name);
        },
      }, h('span', { class: 'kbn-field-type' }, this.fieldTypeIcon(name)), name);
      const add = h('button', {
        type: 'button',
        class: 'kbn-field-add',
        'data-test-subj': `fieldToggle-${name}`,
        title: this.columns.includes(name) ? 'Remove field as column' : 'Add field as column',
        onclick: () => this.toggleColumn(name),
      }, this.columns.includes(name) ? '\u2212' : '+');
      return h('li', { class: 'kbn-field', 'data-test-subj': `field-${name}` }, h('div', { class: 'kbn-field-row' }, toggle, add), details);
    };
    clear(this.fieldList).append(
      ...(selected.length ? [h('li', { class: 'kbn-field-group' }, 'Selected fields')] : []),
      ...selected.map(item),
      h('li', { class: 'kbn-field-group' }, `Available fields`, h('span', { class: 'kbn-badge' }, String(available.length))),
      ...available.map(item),
    );
    if (!names.length) this.fieldList.append(h('li', { class: 'kbn-field-empty' }, 'No fields in the loaded documents'));
  }

  fieldTypeIcon(name) {
    const sample = this.docs.find((d) => name in d);
    const value = sample ? sample[name] : undefined;
    if (name === this.indexPattern.timeField) return 'd';
    if (typeof value === 'number') return '#';
    if (typeof value === 'boolean') return 'b';
    return 't';
  }

  fillFieldDetails(details, name) {
    const { present, top } = topValues(this.docs, name);
    clear(details).append(
      h('div', { class: 'kbn-field-details-title' }, 'Top 5 values'),
      h('ul', { class: 'kbn-top-values' }, top.map(([value, count]) => {
        const percent = present ? (100 * count) / present : 0;
        return h('li', { 'data-test-subj': `fieldVisualizeBucket-${name}` },
          h('div', { class: 'kbn-top-value-line' }, h('span', { class: 'kbn-top-value', title: value }, value), h('span', { class: 'kbn-top-percent' }, `${percent.toFixed(1)}%`)),
          h('div', { class: 'kbn-bar' }, h('div', { class: 'kbn-bar-fill', style: { width: `${percent}%` } })));
      })),
      h('div', { class: 'kbn-field-details-foot' }, `Exists in ${present} / ${this.docs.length} records`));
  }

  toggleColumn(name) {
    if (this.columns.includes(name)) this.columns = this.columns.filter((c) => c !== name);
    else this.columns = [...this.columns, name];
    this.syncUrl();
    this.renderFields();
    this.renderTable();
  }

  renderTable(limit = ROWS_SHOWN) {
    const timeField = this.indexPattern.timeField;
    const columns = this.columns.length ? this.columns : ['_source'];
    const head = h('thead', {}, h('tr', {},
      h('th', { class: 'kbn-col-toggle' }),
      h('th', { class: 'kbn-col-time', 'data-test-subj': `docTableHeader-${timeField}` }, h('span', {}, timeField), h('span', { class: 'kbn-sort', title: 'Sorted newest first' }, ' \u2193')),
      columns.map((c) => h('th', { 'data-test-subj': `docTableHeader-${c}` }, c === '_source' ? 'Document' : c))));
    const body = h('tbody', {});
    const shown = this.hits.slice(0, limit);
    shown.forEach((hit, index) => {
      const doc = this.docs[index];
      const detail = h('tr', { class: 'kbn-doc-details', 'data-test-subj': 'docTableDetailsRow', hidden: true });
      const toggle = h('button', {
        type: 'button',
        class: 'kbn-expand',
        'data-test-subj': 'docTableExpandToggleColumn',
        'aria-label': 'Toggle row details',
        'aria-expanded': 'false',
        onclick: () => {
          detail.hidden = !detail.hidden;
          toggle.setAttribute('aria-expanded', String(!detail.hidden));
          toggle.textContent = detail.hidden ? '\u25b8' : '\u25be';
          if (!detail.hidden && !detail.firstChild) {
            detail.append(h('td', { colspan: String(columns.length + 2) },
              h('div', { class: 'kbn-doc-meta' }, `_index: ${hit._index}   _id: ${hit._id}`),
              h('pre', { class: 'kbn-doc-json', 'data-test-subj': 'docViewerJson' }, JSON.stringify(hit._source, null, 2))));
          }
        },
      }, '\u25b8');
      const time = doc[timeField];
      const row = h('tr', { class: 'kbn-doc-row', 'data-test-subj': 'docTableRow' },
        h('td', { class: 'kbn-col-toggle' }, toggle),
        h('td', { class: 'kbn-col-time' }, time ? formatKibanaDate(Date.parse(time)) : '-'),
        columns.map((c) => h('td', { class: c === '_source' ? 'kbn-col-source' : '' }, c === '_source' ? this.summary(doc, timeField) : valueText(doc[c]))));
      body.append(row, detail);
    });
    clear(this.table).append(head, body);
    clear(this.more);
    if (!this.hits.length) {
      this.more.append(h('div', { class: 'kbn-empty', 'data-test-subj': 'discoverNoResults' },
        h('h3', {}, 'No results match your search criteria'),
        h('p', {}, 'Expand your time range or modify your query.')));
    } else if (this.hits.length > limit) {
      this.more.append(h('button', { type: 'button', class: 'kbn-button', onclick: () => this.renderTable(this.hits.length) }, `Show all ${this.hits.length} documents`));
    } else if (this.hits.length >= SAMPLE_SIZE) {
      this.more.append(h('p', { class: 'kbn-sample-note' }, `These are the first ${SAMPLE_SIZE} documents matching your search, refine your search to see others.`));
    }
  }

  // The Document column: every field as "name value", as Kibana's source summary.
  summary(doc, timeField) {
    return h('dl', { class: 'kbn-source' }, Object.entries(doc).filter(([k]) => k !== timeField).slice(0, 40).map(([k, v]) => [
      h('dt', {}, k), h('dd', {}, valueText(v)),
    ]));
  }

  async toggleSavedMenu() {
    if (!this.savedMenu.hidden) {
      this.savedMenu.hidden = true;
      return;
    }
    this.savedMenu.hidden = false;
    clear(this.savedMenu).append(h('div', { class: 'kbn-popover-title' }, 'Open search'), h('div', { class: 'kbn-muted' }, 'Loading...'));
    try {
      const found = await getJSON('/api/saved_objects/_find?type=search&per_page=100');
      const objects = found.saved_objects || [];
      clear(this.savedMenu).append(h('div', { class: 'kbn-popover-title' }, 'Open search'),
        objects.length ? h('ul', { class: 'kbn-saved-list' }, objects.map((o) => h('li', {},
          h('button', {
            type: 'button',
            class: 'kbn-link',
            'data-test-subj': `savedObjectTitle${(o.attributes.title || '').replace(/ /g, '-')}`,
            onclick: () => { this.savedMenu.hidden = true; this.openSavedSearch(o.id); },
          }, o.attributes.title || o.id)))) : h('div', { class: 'kbn-muted' }, 'No saved searches'));
    } catch (error) {
      clear(this.savedMenu).append(h('div', { class: 'kbn-query-error' }, error.message));
    }
  }

  async openSavedSearch(id, { keepUrlQuery = false } = {}) {
    let object;
    try {
      object = await getJSON(`/api/saved_objects/search/${encodeURIComponent(id)}`);
    } catch (error) {
      this.showError(`Could not open saved search ${id}: ${error.message}`);
      this.run();
      return;
    }
    const attrs = object.attributes || {};
    let source = {};
    try {
      source = JSON.parse((attrs.kibanaSavedObjectMeta && attrs.kibanaSavedObjectMeta.searchSourceJSON) || '{}');
    } catch {
      source = {};
    }
    const query = source.query || {};
    this.savedSearchId = id;
    // A link's own query and columns (its _a) win over the saved ones, as in Kibana.
    if (!keepUrlQuery) {
      this.state.query = typeof query.query === 'string' ? query.query : '';
      this.state.language = query.language === 'lucene' ? 'lucene' : 'kuery';
      this.input.value = this.state.query;
      this.columns = Array.isArray(attrs.columns) ? attrs.columns.filter((c) => c !== '_source') : [];
    }
    this.savedTitle.textContent = attrs.title || id;
    document.title = `${attrs.title || id} - Discover - console (Kibana)`;
    this.updateLanguage();
    await this.run();
  }

  newSearch() {
    this.savedSearchId = null;
    this.savedTitle.textContent = '';
    this.state.query = '';
    this.input.value = '';
    this.columns = [];
    this.run();
  }
}

// Dashboards: the list (/app/dashboards) and a saved dashboard (/app/dashboards#/view/<id>) laid
// out on Kibana's 48-column grid, each vega visualization searching and drawing on its own.
import { h, clear } from '../common/dom.js';
import { getJSON } from '../common/http.js';
import { parseTime, intervalToMs, msToInterval } from '../common/datemath.js';
import { readHash, writeHashQuery } from '../common/rison.js';
import { timePicker } from '../common/timepicker.js';
import { kibanaChrome, KIBANA_PICKER } from './chrome.js';
import { userQuery } from './search.js';
import { KqlSyntaxError } from './kql.js';
import { parseSpec, resolveData, renderVega } from './vega.js';

export async function dashboardList(root) {
  document.title = 'Dashboards - console (Kibana)';
  const body = h('div', { class: 'kbn-page', 'data-test-subj': 'dashboardLandingPage' }, h('h1', { class: 'kbn-page-title' }, 'Dashboards'));
  root.append(kibanaChrome('dashboards', [{ text: 'Dashboards', href: '/app/dashboards' }]), body);
  let objects = [];
  try {
    objects = (await getJSON('/api/saved_objects/_find?type=dashboard&per_page=100')).saved_objects || [];
  } catch (error) {
    body.append(h('div', { class: 'kbn-callout-danger', role: 'alert' }, `Could not load dashboards: ${error.message}`));
    return;
  }
  body.append(h('table', { class: 'kbn-list-table', 'data-test-subj': 'dashboardListingTable' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Title'), h('th', {}, 'Description'))),
    h('tbody', {}, objects.map((o) => h('tr', {},
      h('td', {}, h('a', { href: `/app/dashboards#/view/${encodeURIComponent(o.id)}`, 'data-test-subj': `dashboardListingTitleLink-${(o.attributes.title || '').replace(/ /g, '-')}` }, o.attributes.title || o.id)),
      h('td', { class: 'kbn-muted' }, o.attributes.description || ''))))));
  if (!objects.length) body.append(h('p', { class: 'kbn-muted' }, 'No dashboards yet.'));
}

function json(text, fallback) {
  try {
    return typeof text === 'string' ? JSON.parse(text) : text ?? fallback;
  } catch {
    return fallback;
  }
}

class VegaPanel {
  constructor(panel, visualization, page) {
    this.page = page;
    this.visualization = visualization;
    this.runId = 0;
    const title = (visualization && visualization.attributes.title) || (panel.embeddableConfig && panel.embeddableConfig.title) || '';
    this.content = h('div', { class: 'kbn-panel-content' });
    this.element = h('div', {
      class: 'kbn-panel',
      'data-test-subj': 'dashboardPanel',
      'data-title': title,
      'data-console-state': 'loading',
      style: {
        gridColumn: `${(panel.gridData.x ?? 0) + 1} / span ${panel.gridData.w ?? 24}`,
        gridRow: `${(panel.gridData.y ?? 0) + 1} / span ${panel.gridData.h ?? 15}`,
      },
    }, h('figcaption', { class: 'kbn-panel-title', 'data-test-subj': 'dashboardPanelTitle' }, title), this.content);
  }

  setState(state) {
    this.element.setAttribute('data-console-state', state);
  }

  message(text, kind) {
    clear(this.content).append(h('div', { class: `kbn-panel-message kbn-panel-${kind}`, role: kind === 'error' ? 'alert' : null, 'data-test-subj': kind === 'error' ? 'embeddableErrorLabel' : 'visNoResult' }, text));
  }

  async run() {
    const runId = ++this.runId;
    this.inFlight = true;
    this.setState('loading');
    this.element.classList.add('kbn-panel-loading');
    try {
      if (!this.visualization) throw new Error('Could not find the visualization this panel refers to');
      const visState = json(this.visualization.attributes.visState, {});
      if (visState.type !== 'vega') {
        this.message(`Visualization type ${visState.type || 'unknown'} is not supported by the console`, 'unsupported');
        this.setState('nodata');
        return;
      }
      const spec = parseSpec(visState.params && visState.params.spec);
      const { spec: resolved, empty } = await resolveData(spec, this.page.context());
      if (runId !== this.runId) return;
      if (empty) {
        this.message('No results found', 'empty');
        this.setState('nodata');
        return;
      }
      const box = this.content.getBoundingClientRect();
      const target = h('div', { class: 'kbn-vega' });
      clear(this.content).append(target);
      if (this.view) this.view.finalize();
      const result = await renderVega(target, resolved, { width: box.width - 16, height: box.height - 16 });
      this.view = result;
      this.setState('data');
    } catch (error) {
      if (runId !== this.runId) return;
      this.message(error.message, 'error');
      this.setState('error');
    } finally {
      if (runId === this.runId) {
        this.inFlight = false;
        this.element.classList.remove('kbn-panel-loading');
      }
    }
  }
}

export class DashboardView {
  constructor(root, id) {
    this.root = root;
    this.id = id;
    this.panels = [];
    this.timer = null;
  }

  context() {
    const now = Date.now();
    return {
      rangeMs: { from: parseTime(this.state.from, now), to: parseTime(this.state.to, now) },
      query: this.query,
    };
  }

  async load() {
    let dashboard;
    try {
      dashboard = await getJSON(`/api/saved_objects/dashboard/${encodeURIComponent(this.id)}`);
    } catch (error) {
      this.root.append(kibanaChrome('dashboards', [{ text: 'Dashboards', href: '/app/dashboards' }, { text: this.id }]),
        h('div', { class: 'kbn-page' }, h('div', { class: 'kbn-callout-danger', role: 'alert' }, error.status === 404 ? `Dashboard ${this.id} was not found` : `Could not load the dashboard: ${error.message}`)));
      return;
    }
    const attrs = dashboard.attributes || {};
    document.title = `${attrs.title || this.id} - Dashboards - console (Kibana)`;
    // The link's _g and _a (Kibana's hash state) win over the dashboard's saved time and query.
    const { g, a } = readHash(window.location.hash);
    const savedRefresh = attrs.refreshInterval || {};
    const refresh = g.refreshInterval || savedRefresh;
    const time = g.time || (attrs.timeRestore ? { from: attrs.timeFrom, to: attrs.timeTo } : {});
    this.state = {
      from: time.from || 'now-15m',
      to: time.to || 'now',
      refresh: refresh.pause === false ? msToInterval(refresh.value) : '',
    };
    const source = json(attrs.kibanaSavedObjectMeta && attrs.kibanaSavedObjectMeta.searchSourceJSON, {});
    const query = a.query || source.query || {};
    this.queryState = { query: typeof query.query === 'string' ? query.query : '', language: query.language === 'lucene' ? 'lucene' : 'kuery' };
    this.query = { match_all: {} };

    const references = new Map((dashboard.references || []).map((r) => [r.name, r]));
    const panelsJSON = json(attrs.panelsJSON, []);
    const visualizations = await Promise.all(panelsJSON.map(async (panel) => {
      const ref = references.get(panel.panelRefName) || (panel.id ? { type: panel.type, id: panel.id } : null);
      if (!ref) return null;
      try {
        return await getJSON(`/api/saved_objects/${encodeURIComponent(ref.type || 'visualization')}/${encodeURIComponent(ref.id)}`);
      } catch {
        return null;
      }
    }));

    this.input = h('input', { type: 'text', class: 'kbn-query-input', 'data-test-subj': 'queryInput', 'aria-label': 'Search', value: this.queryState.query, placeholder: 'Filter your data using KQL syntax' });
    this.queryError = h('div', { class: 'kbn-query-error', role: 'alert', 'data-test-subj': 'dashboardQueryError', hidden: true });
    const picker = timePicker({
      state: { ...this.state },
      ...KIBANA_PICKER,
      onChange: (next) => {
        this.state = next;
        this.schedule();
        this.runAll();
      },
    });
    const form = h('form', {
      class: 'kbn-querybar',
      onsubmit: (event) => {
        event.preventDefault();
        this.runAll();
      },
    }, h('div', { class: 'kbn-query-field' }, this.input, h('span', { class: 'kbn-language-toggle kbn-language-static' }, this.queryState.language === 'lucene' ? 'Lucene' : 'KQL')), picker.element);
    this.grid = h('div', { class: 'kbn-grid', 'data-test-subj': 'dashboardViewport' });
    this.root.append(kibanaChrome('dashboards', [{ text: 'Dashboards', href: '/app/dashboards' }, { text: attrs.title || this.id }]),
      h('div', { class: 'kbn-dashboard', 'data-test-subj': 'dashboardContainer' },
        h('h1', { class: 'kbn-dashboard-title', 'data-test-subj': 'dashboardTitle' }, attrs.title || this.id), form, this.queryError, this.grid));
    this.panels = panelsJSON.map((panel, i) => new VegaPanel(panel, visualizations[i], this));
    this.grid.append(...this.panels.map((p) => p.element));
    this.runAll();
    this.schedule();
  }

  syncUrl() {
    const g = {
      time: { from: this.state.from, to: this.state.to },
      refreshInterval: { pause: !this.state.refresh, value: intervalToMs(this.state.refresh) },
    };
    const a = { query: { language: this.queryState.language, query: this.input.value } };
    window.history.replaceState(null, '', `${window.location.pathname}#/view/${encodeURIComponent(this.id)}?${writeHashQuery({ _g: g, _a: a })}`);
  }

  // An auto-refresh tick skips a panel still waiting for its last answer.
  runAll({ tick = false } = {}) {
    this.syncUrl();
    try {
      this.query = userQuery(this.input.value, this.queryState.language);
      this.queryError.hidden = true;
    } catch (error) {
      if (!(error instanceof KqlSyntaxError)) throw error;
      this.queryError.hidden = false;
      this.queryError.textContent = error.message;
      return;
    }
    requestAnimationFrame(() => {
      for (const panel of this.panels) if (!(tick && panel.inFlight)) panel.run();
    });
  }

  schedule() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const every = intervalToMs(this.state.refresh);
    if (every > 0) this.timer = setInterval(() => this.runAll({ tick: true }), every);
  }
}

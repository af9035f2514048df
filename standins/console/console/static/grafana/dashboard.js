// The dashboard page (/d/<uid>/<slug>): variables and time picker on top, the panel grid below,
// each panel querying /api/ds/query and settling to data-console-state data|nodata|error.
import { h, clear } from '../common/dom.js';
import { getJSON } from '../common/http.js';
import { parseTime, intervalToMs } from '../common/datemath.js';
import { timePicker } from '../common/timepicker.js';
import { Variables } from './variables.js';
import { buildRequest, runQueries } from './query.js';
import { RENDERERS, isSupported, unsupportedElement, noDataElement } from './panels.js';
import { hasData } from './frames.js';
import { sectionsOf, placeSections, gridStyle } from './layout.js';

async function loadDatasources() {
  const list = await getJSON('/api/datasources').catch(() => []);
  const byUid = new Map((list || []).map((ds) => [ds.uid, ds]));
  const defaultDatasource = (list || []).find((ds) => ds.isDefault) || (list || [])[0];
  return { byUid, defaultDatasource };
}

class PanelView {
  constructor(panel, dashboard) {
    this.panel = panel;
    this.dashboard = dashboard;
    this.runId = 0;
    this.visual = null;
    const title = panel.title || '';
    this.status = h('span', { class: 'gf-panel-status', hidden: true });
    this.loading = h('span', { class: 'gf-panel-loading', 'data-testid': 'data-testid Panel loading bar', hidden: true });
    this.content = h('div', { class: 'gf-panel-content', 'data-testid': 'data-testid panel content' });
    this.element = h('section', {
      class: 'gf-panel',
      'data-testid': `data-testid Panel header ${title}`,
      'data-panelid': panel.id,
      'data-console-state': 'loading',
      'aria-label': title ? `${title} panel` : 'panel',
    },
    h('div', { class: 'gf-panel-header' },
      this.status,
      h('h2', { class: 'gf-panel-title', title: panel.description || title }, title),
      this.loading),
    this.content);
  }

  setState(state) {
    this.element.setAttribute('data-console-state', state);
  }

  showError(text) {
    this.status.hidden = false;
    this.status.className = 'gf-panel-status gf-panel-status-error';
    this.status.setAttribute('data-testid', 'data-testid Panel status error');
    this.status.title = text;
    this.status.textContent = '!';
  }

  async run() {
    const { panel } = this;
    if (!isSupported(panel.type)) {
      clear(this.content).append(unsupportedElement(panel.type));
      this.setState('nodata');
      return;
    }
    const runId = ++this.runId;
    this.inFlight = true;
    this.loading.hidden = false;
    this.setState('loading');
    const rangeMs = this.dashboard.rangeMs();
    const maxDataPoints = Math.max(100, Math.round(this.content.clientWidth || 400));
    let result;
    try {
      const request = buildRequest({ panel, rangeMs, maxDataPoints, variables: this.dashboard.variables, datasources: this.dashboard.datasources });
      result = await runQueries(request);
    } catch (error) {
      result = { frames: [], errors: [{ refId: '', text: error.message }] };
    }
    if (runId !== this.runId) return;
    this.inFlight = false;
    this.loading.hidden = true;
    this.render(result, rangeMs);
  }

  render({ frames, errors }, rangeMs) {
    if (this.visual && this.visual.destroy) this.visual.destroy();
    this.visual = null;
    clear(this.content);
    this.status.hidden = true;
    this.status.removeAttribute('data-testid');
    if (errors.length) {
      const text = errors.map((e) => (errors.length > 1 && e.refId ? `${e.refId}: ${e.text}` : e.text)).join('\n');
      this.showError(text);
      this.content.append(h('div', { class: 'gf-panel-error', role: 'alert' }, text));
    }
    const found = hasData(frames);
    if (found) {
      const body = h('div', { class: 'gf-panel-viz' });
      this.content.append(body);
      this.visual = RENDERERS[this.panel.type](this.panel, body, frames, rangeMs);
    } else if (!errors.length) {
      this.content.append(noDataElement());
    }
    this.setState(errors.length ? 'error' : found ? 'data' : 'nodata');
  }

  destroy() {
    this.runId += 1;
    if (this.visual && this.visual.destroy) this.visual.destroy();
  }
}

export class DashboardPage {
  constructor(root, uid) {
    this.root = root;
    this.uid = uid;
    this.views = [];
    this.timer = null;
  }

  rangeMs() {
    const now = Date.now();
    return { from: parseTime(this.state.from, now), to: parseTime(this.state.to, now) };
  }

  async load() {
    const params = new URLSearchParams(window.location.search);
    let answer;
    try {
      answer = await getJSON(`/api/dashboards/uid/${encodeURIComponent(this.uid)}`);
    } catch (error) {
      this.root.append(h('div', { class: 'gf-page-error', role: 'alert' }, error.status === 404 ? 'Dashboard not found' : `Failed to load dashboard: ${error.message}`));
      return null;
    }
    const model = answer.dashboard || {};
    this.model = model;
    const time = model.time || { from: 'now-6h', to: 'now' };
    this.state = {
      from: params.get('from') || time.from,
      to: params.get('to') || time.to,
      refresh: params.has('refresh') ? params.get('refresh') : model.refresh || '',
    };
    if (Number.isNaN(parseTime(this.state.from)) || Number.isNaN(parseTime(this.state.to))) {
      this.state.from = time.from;
      this.state.to = time.to;
    }
    this.datasources = await loadDatasources();
    this.variables = new Variables(model, params);
    await this.variables.load(this.rangeMs());
    this.render(answer.meta || {});
    this.syncUrl();
    this.runAll();
    this.schedule();
    return model;
  }

  render(meta) {
    const model = this.model;
    document.title = `${model.title || 'Dashboard'} - Dashboards - console (Grafana)`;
    this.variableBar = h('div', { class: 'gf-submenu', 'data-testid': 'data-testid Dashboard submenu' });
    this.fillVariables();
    this.picker = timePicker({
      state: { ...this.state },
      attr: 'data-testid',
      ids: {
        open: 'data-testid TimePicker Open Button',
        from: 'data-testid Time Range from field',
        to: 'data-testid Time Range to field',
        apply: 'data-testid TimePicker submit button',
        run: 'data-testid RefreshPicker run button',
        refresh: 'data-testid RefreshPicker interval button',
      },
      classPrefix: 'gf',
      onChange: (next) => {
        const rangeChanged = next.from !== this.state.from || next.to !== this.state.to;
        this.state = next;
        this.syncUrl();
        this.schedule();
        if (rangeChanged) this.reloadVariables();
        else this.runAll();
      },
    });
    const folder = meta.folderTitle ? [h('a', { href: '/dashboards', class: 'gf-crumb' }, meta.folderTitle), h('span', { class: 'gf-crumb-sep' }, '\u203a')] : [];
    const toolbar = h('div', { class: 'gf-dashnav', 'data-testid': 'data-testid Dashboard navigation' },
      h('div', { class: 'gf-dashnav-title' }, ...folder, h('h1', { class: 'gf-dashboard-title' }, model.title || '')),
      h('div', { class: 'gf-dashnav-controls', 'data-testid': 'data-testid dashboard controls' }, this.picker.element));
    this.grid = h('div', { class: 'gf-grid' });
    this.root.append(h('div', { class: 'gf-dashboard', 'data-testid': `data-testid Dashboard ${model.title || ''}` }, toolbar, this.variableBar, this.grid));
    this.sections = sectionsOf(model.panels);
    this.layout();
  }

  fillVariables() {
    clear(this.variableBar).append(...this.variables.render(() => {
      this.syncUrl();
      this.reloadVariables();
    }));
    this.variableBar.hidden = !this.variableBar.childElementCount;
  }

  async reloadVariables() {
    await this.variables.load(this.rangeMs());
    this.fillVariables();
    this.syncUrl();
    this.runAll();
  }

  layout() {
    for (const view of this.views) view.destroy();
    this.views = [];
    clear(this.grid);
    for (const item of placeSections(this.sections)) {
      if (item.isRow) {
        this.grid.append(this.rowElement(item));
        continue;
      }
      const view = new PanelView(item.panel, this);
      Object.assign(view.element.style, gridStyle(item));
      this.grid.append(view.element);
      this.views.push(view);
    }
  }

  rowElement(item) {
    const { section } = item;
    const title = this.variables.substitute(section.row.title || '');
    const count = section.panels.length;
    const element = h('div', {
      class: `gf-row${section.collapsed ? ' gf-row-collapsed' : ''}`,
      'data-testid': `data-testid dashboard-row-container-${title}`,
      style: gridStyle(item),
    },
    h('button', {
      type: 'button',
      class: 'gf-row-title',
      'data-testid': `data-testid dashboard-row-title-${title}`,
      'aria-expanded': String(!section.collapsed),
      onclick: () => {
        section.collapsed = !section.collapsed;
        this.layout();
        this.runAll();
      },
    }, h('span', { class: 'gf-row-chevron' }, section.collapsed ? '\u25b8' : '\u25be'), title,
    section.collapsed ? h('span', { class: 'gf-row-count' }, `(${count} panel${count === 1 ? '' : 's'})`) : null));
    return element;
  }

  // After layout, so each panel knows its width (maxDataPoints). An auto-refresh tick skips a
  // panel still waiting for its last answer: a slow datasource is not asked twice over.
  runAll({ tick = false } = {}) {
    requestAnimationFrame(() => {
      for (const view of this.views) if (!(tick && view.inFlight)) view.run();
    });
  }

  schedule() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const every = intervalToMs(this.state.refresh);
    if (every > 0) this.timer = setInterval(() => this.runAll({ tick: true }), every);
  }

  syncUrl() {
    const params = new URLSearchParams(window.location.search);
    params.set('from', this.state.from);
    params.set('to', this.state.to);
    if (this.state.refresh) params.set('refresh', this.state.refresh);
    else params.delete('refresh');
    this.variables.urlParams(params);
    const url = `${window.location.pathname}?${params.toString().replace(/%24/g, '$')}`;
    window.history.replaceState(null, '', url);
  }
}

// The panel visualizations: timeseries (uPlot), stat, table; anything else says it is not
// supported. Each renderer fills the panel's content element from the query result.
import { h } from '../common/dom.js';
import { timeChart, PALETTE } from '../common/chart.js';
import { formatDateTime } from '../common/datemath.js';
import { formatValue } from './units.js';
import { timeSeriesOf, numberSeriesOf, tablesOf, reduce } from './frames.js';

// Grafana's named colours (dark theme) as thresholds and overrides name them.
const NAMED_COLORS = {
  green: '#73BF69', 'dark-green': '#37872D', 'semi-dark-green': '#56A64B', red: '#F2495C', 'dark-red': '#C4162A',
  'semi-dark-red': '#E02F44', orange: '#FF9830', 'dark-orange': '#FA6400', yellow: '#FADE2A', 'dark-yellow': '#E0B400',
  blue: '#5794F2', 'dark-blue': '#1F60C4', purple: '#B877D9', 'dark-purple': '#8F3BB8', text: '#CCCCDC', transparent: 'transparent',
};

export const THEME = { axis: 'rgba(204, 204, 220, 0.65)', grid: 'rgba(204, 204, 220, 0.08)', text: '#ccccdc' };

export function colorOf(name) {
  if (!name) return PALETTE[0];
  return NAMED_COLORS[name] || name;
}

function thresholdColor(value, thresholds) {
  const steps = (thresholds && thresholds.steps) || [];
  let color = steps.length ? steps[0].color : 'green';
  for (const step of steps) {
    if (step.value === null || step.value === undefined || value >= step.value) color = step.color;
  }
  return colorOf(color);
}

export function noDataElement() {
  return h('div', { class: 'gf-panel-empty' }, h('p', {}, 'No data'));
}

function renderTimeseries(panel, content, frames) {
  const defaults = (panel.fieldConfig && panel.fieldConfig.defaults) || {};
  const custom = defaults.custom || {};
  const unit = defaults.unit;
  const decimals = defaults.decimals;
  const legendOptions = (panel.options && panel.options.legend) || {};
  const series = timeSeriesOf(frames).map((s, i) => ({ ...s, color: PALETTE[i % PALETTE.length] }));
  const chartBox = h('div', { class: 'gf-chart' });
  const showLegend = legendOptions.showLegend !== false && legendOptions.displayMode !== 'hidden';
  const legend = showLegend ? h('ul', { class: `gf-legend gf-legend-${legendOptions.placement === 'right' ? 'right' : 'bottom'}` }) : null;
  content.append(h('div', { class: `gf-timeseries${legend && legendOptions.placement === 'right' ? ' gf-timeseries-right' : ''}` }, chartBox, legend));
  const chart = timeChart(chartBox, {
    series,
    format: (v) => (v === null || v === undefined ? '' : formatValue(v, unit || series[0]?.unit, decimals)),
    theme: THEME,
    stacked: custom.stacking && custom.stacking.mode === 'normal',
    fillOpacity: custom.fillOpacity ?? 0,
    lineWidth: custom.lineWidth ?? 1,
    bars: custom.drawStyle === 'bars',
    yRange: defaults.min !== undefined || defaults.max !== undefined ? [defaults.min ?? null, defaults.max ?? null] : undefined,
  });
  if (legend) {
    series.forEach((s, i) => {
      const item = h('li', {
        class: 'gf-legend-item',
        'data-testid': `data-testid VizLegend series ${s.name}`,
        onclick: () => item.classList.toggle('gf-legend-item-hidden', !chart.toggle(i)),
      }, h('span', { class: 'gf-legend-line', style: { background: s.color } }), h('span', { class: 'gf-legend-name' }, s.name));
      legend.append(item);
    });
  }
  return chart;
}

function renderStat(panel, content, frames) {
  const defaults = (panel.fieldConfig && panel.fieldConfig.defaults) || {};
  const options = panel.options || {};
  const calcs = (options.reduceOptions && options.reduceOptions.calcs) || ['lastNotNull'];
  const series = numberSeriesOf(frames);
  const colorMode = options.colorMode || 'value';
  const charts = [];
  const tiles = series.map((s) => {
    const value = reduce(s.values, calcs[0]);
    const color = value === null ? THEME.text : thresholdColor(value, defaults.thresholds);
    const text = value === null ? 'No data' : formatValue(value, defaults.unit, defaults.decimals);
    const showName = options.textMode === 'value_and_name' || options.textMode === 'name' || (options.textMode !== 'value' && series.length > 1);
    const style = colorMode === 'background' ? { background: color, color: '#fff' } : { color: colorMode === 'none' ? THEME.text : color };
    const tile = h('div', { class: 'gf-stat-tile', style: colorMode === 'background' ? { background: color } : {} },
      showName ? h('div', { class: 'gf-stat-name' }, s.name) : null,
      h('div', { class: 'gf-stat-value', 'data-testid': 'data-testid stat value', style }, text));
    // graphMode "area" (Grafana's default): the series as a sparkline along the tile's bottom.
    if (options.graphMode !== 'none' && s.times && s.values.filter((v) => v !== null && v !== undefined).length > 1) {
      const spark = h('div', { class: 'gf-stat-sparkline' });
      tile.prepend(spark);
      charts.push({ spark, series: { name: s.name, times: s.times, values: s.values, color: colorMode === 'background' ? '#ffffff' : color } });
    }
    return tile;
  });
  content.append(h('div', { class: `gf-stat gf-stat-${options.orientation === 'vertical' ? 'vertical' : 'auto'}` }, tiles));
  // Big numbers grow with the panel, as Grafana's BigValue sizes its text to the box.
  const fit = () => {
    const box = content.getBoundingClientRect();
    const count = Math.max(1, tiles.length);
    const perTile = Math.min(box.height * 0.5, (box.width / count) / 4.5);
    for (const tile of tiles) tile.querySelector('.gf-stat-value').style.fontSize = `${Math.max(14, Math.min(64, perTile))}px`;
  };
  fit();
  const observer = new ResizeObserver(fit);
  observer.observe(content);
  const sparklines = charts.map(({ spark, series: one }) => timeChart(spark, {
    series: [one], format: () => '', theme: THEME, fillOpacity: 18, lineWidth: 1, sparkline: true,
  }));
  return {
    destroy: () => {
      observer.disconnect();
      sparklines.forEach((chart) => chart.destroy());
    },
  };
}

function cellText(value, column) {
  if (value === null || value === undefined) return '';
  if (column.type === 'time') return formatDateTime(Number(value));
  if (column.type === 'number') return formatValue(Number(value), column.unit, undefined);
  return String(value);
}

function renderTable(panel, content, frames) {
  const tables = tablesOf(frames);
  content.append(h('div', { class: 'gf-table-wrap' }, tables.map((table) => h('table', { class: 'gf-table' },
    h('thead', {}, h('tr', {}, table.columns.map((c) => h('th', { class: c.type === 'number' ? 'gf-num' : '' }, c.name)))),
    h('tbody', {}, table.rows.map((row) => h('tr', {}, row.map((value, i) => h('td', { class: table.columns[i].type === 'number' ? 'gf-num' : '' }, cellText(value, table.columns[i]))))))))));
  return null;
}

export const RENDERERS = { timeseries: renderTimeseries, graph: renderTimeseries, stat: renderStat, singlestat: renderStat, table: renderTable };

export function isSupported(type) {
  return Object.hasOwn(RENDERERS, type);
}

export function unsupportedElement(type) {
  return h('div', { class: 'gf-panel-unsupported' }, `Panel type ${type} is not supported by the console`);
}

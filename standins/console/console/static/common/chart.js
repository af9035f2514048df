// Time series drawn with uPlot (vendored, loaded as the global `uPlot` by the page shell): lines
// for Grafana's timeseries panels, bars for Discover's histogram. Sized to its container and
// redrawn when the container resizes.
import { h } from './dom.js';
import { formatDateTime } from './datemath.js';

// Grafana's classic palette, in its order.
export const PALETTE = [
  '#73BF69', '#F2CC0C', '#8AB8FF', '#FF780A', '#F2495C', '#5794F2', '#B877D9', '#705DA0',
  '#37872D', '#FADE2A', '#447EBC', '#C15C17', '#890F02', '#0A437C', '#6D1F62', '#584477',
];

function withAlpha(hex, alpha) {
  const a = Math.round(alpha * 255).toString(16).padStart(2, '0');
  return `${hex}${a}`;
}

// series: [{name, times: [ms], values: [number|null], color}]; all joined on one time axis.
export function alignSeries(series) {
  const tables = series.map((s) => [s.times.map((t) => t / 1000), s.values.map((v) => (v === null || v === undefined ? null : Number(v)))]);
  if (!tables.length) return [[]];
  if (tables.length === 1) return tables[0];
  return window.uPlot.join(tables);
}

function stackData(data) {
  const out = [data[0]];
  let running = data[0].map(() => 0);
  for (let i = 1; i < data.length; i += 1) {
    running = running.map((sum, j) => sum + (data[i][j] ?? 0));
    out.push(running.slice());
  }
  return out;
}

function pad2(n) {
  return String(n).padStart(2, '0');
}

// Time ticks in 24-hour form as Grafana and Kibana print them: 06:20, 06:20:30, or 12/06 when
// the ticks are days apart.
function timeTicks(self, splits, axisIdx, foundSpace, foundIncr) {
  return splits.map((seconds) => {
    const d = new Date(seconds * 1000);
    if (foundIncr >= 86400) return `${pad2(d.getMonth() + 1)}/${pad2(d.getDate())}`;
    const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    return foundIncr < 60 ? `${hm}:${pad2(d.getSeconds())}` : hm;
  });
}

// options: {series, format(value) -> text, theme: {axis, grid, text}, bars, stacked, fillOpacity,
// lineWidth, sparkline (no axes, no cursor: a stat panel's background)}. Returns {element, legend(el), destroy}.
export function timeChart(container, options) {
  const { series, format, theme } = options;
  const raw = alignSeries(series);
  const data = options.stacked ? stackData(raw) : raw;
  const fillOpacity = options.fillOpacity ?? 0;
  const bars = options.bars ? window.uPlot.paths.bars({ size: [0.8, 40] }) : null;
  const axisSize = (self, values) => {
    const longest = Math.max(2, ...(values || []).map((v) => String(v).length));
    return longest * 7 + 18;
  };
  const uSeries = [{}].concat(series.map((s) => ({
    label: s.name,
    stroke: s.color,
    width: options.lineWidth ?? 1,
    fill: bars ? withAlpha(s.color, 0.8) : fillOpacity ? withAlpha(s.color, fillOpacity / 100) : undefined,
    paths: bars || undefined,
    points: { show: false },
    spanGaps: false,
    value: (self, v, si, idx) => (idx === null || idx === undefined ? '' : format(raw[si][idx])),
  })));
  const bands = options.stacked ? series.slice(1).map((_, i) => ({ series: [i + 2, i + 1] })) : [];

  const tooltip = h('div', { class: 'console-chart-tooltip', hidden: true });
  const plotHolder = h('div', { class: 'console-chart-plot' });
  container.append(plotHolder, tooltip);

  const size = () => ({ width: Math.max(50, plotHolder.clientWidth), height: Math.max(40, plotHolder.clientHeight) });
  const sparkline = Boolean(options.sparkline);
  const opts = {
    ...size(),
    legend: { show: false },
    padding: sparkline ? [0, 0, 0, 0] : [8, 8, 0, 0],
    cursor: sparkline ? { show: false } : { points: { size: 6 }, drag: { x: false, y: false } },
    scales: { x: { time: true }, y: options.yRange ? { range: options.yRange } : {} },
    bands,
    axes: sparkline ? [{ show: false }, { show: false }] : [
      { stroke: theme.axis, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 }, font: '11px Inter, Helvetica, Arial, sans-serif', values: timeTicks },
      { stroke: theme.axis, grid: { stroke: theme.grid, width: 1 }, ticks: { show: false }, font: '11px Inter, Helvetica, Arial, sans-serif', size: axisSize, space: 24, values: (self, splits) => splits.map((v) => format(v)) },
    ],
    series: uSeries,
    hooks: {
      setCursor: [(u) => {
        const idx = u.cursor.idx;
        if (idx === null || idx === undefined || u.cursor.left < 0) {
          tooltip.hidden = true;
          return;
        }
        tooltip.replaceChildren(
          h('div', { class: 'console-chart-tooltip-time' }, formatDateTime(raw[0][idx] * 1000)),
          ...series.map((s, i) => (u.series[i + 1].show ? h('div', { class: 'console-chart-tooltip-row' },
            h('span', { class: 'console-chart-swatch', style: { background: s.color } }),
            h('span', { class: 'console-chart-tooltip-name' }, s.name),
            h('span', { class: 'console-chart-tooltip-value' }, format(raw[i + 1][idx]))) : null)).filter(Boolean),
        );
        tooltip.hidden = false;
        const left = u.cursor.left + u.over.offsetLeft;
        const flip = left > plotHolder.clientWidth / 2;
        tooltip.style.left = flip ? '' : `${left + 12}px`;
        tooltip.style.right = flip ? `${plotHolder.clientWidth - left + 12}px` : '';
        tooltip.style.top = `${Math.max(0, u.cursor.top - 10)}px`;
      }],
    },
  };
  const plot = new window.uPlot(opts, data, plotHolder);
  const observer = new ResizeObserver(() => plot.setSize(size()));
  observer.observe(plotHolder);

  return {
    plot,
    toggle(index) {
      const shown = plot.series[index + 1].show;
      plot.setSeries(index + 1, { show: !shown });
      return !shown;
    },
    destroy() {
      observer.disconnect();
      plot.destroy();
    },
  };
}

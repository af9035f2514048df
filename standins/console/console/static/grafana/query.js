// Runs a panel's targets through POST /api/ds/query as Grafana's frontend does: template
// variables substituted here, $__interval and friends left for the server.
import { postJSON } from '../common/http.js';

// Grafana's interval rounding (kbn.roundInterval): the nearest "nice" step below the raw one.
const NICE_STEPS = [
  [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1500, 1000], [3500, 2000],
  [7500, 5000], [12500, 10000], [17500, 15000], [25000, 20000], [45000, 30000], [90000, 60000],
  [210000, 120000], [450000, 300000], [750000, 600000], [1050000, 900000], [1500000, 1200000],
  [2700000, 1800000], [5400000, 3600000], [9000000, 7200000], [16200000, 10800000],
  [32400000, 21600000], [86400000, 43200000], [604800000, 86400000],
];

export function roundInterval(ms) {
  for (const [limit, step] of NICE_STEPS) if (ms < limit) return step;
  return 604800000;
}

// intervalMs for a panel: range / width, rounded, never under the datasource's scrape interval
// (its jsonData.timeInterval, Grafana's "min interval").
export function panelInterval(rangeMs, maxDataPoints, minIntervalMs) {
  const raw = (rangeMs.to - rangeMs.from) / Math.max(1, maxDataPoints);
  return Math.max(roundInterval(raw), minIntervalMs || 1);
}

function datasourceOf(target, panel, defaultDatasource) {
  const ds = target.datasource || panel.datasource;
  if (ds && typeof ds === 'object' && ds.uid && !String(ds.uid).startsWith('$')) return ds;
  if (typeof ds === 'string' && !ds.startsWith('$') && ds !== 'default') return { uid: ds };
  return defaultDatasource ? { uid: defaultDatasource.uid, type: defaultDatasource.type } : { uid: 'prometheus', type: 'prometheus' };
}

function prometheusQuery(target, common, substitute) {
  return {
    ...common,
    expr: substitute(target.expr || ''),
    legendFormat: target.legendFormat || '',
    instant: Boolean(target.instant) && !target.range,
    range: target.range !== undefined ? Boolean(target.range) : !target.instant,
    format: target.format || 'time_series',
    interval: target.interval || '',
  };
}

// Elasticsearch targets go as Grafana's query model, their Lucene query substituted.
function elasticsearchQuery(target, common, substitute) {
  const { datasource: _ignored, refId: _ref, ...rest } = target;
  return {
    ...rest,
    ...common,
    query: substitute(target.query || ''),
    alias: target.alias ? substitute(target.alias) : target.alias,
  };
}

export function buildRequest({ panel, rangeMs, maxDataPoints, variables, datasources }) {
  const targets = (panel.targets || []).filter((t) => !t.hide);
  const substitute = (text) => variables.substitute(text);
  const queries = targets.map((target, index) => {
    const datasource = datasourceOf(target, panel, datasources.defaultDatasource);
    const full = datasources.byUid.get(datasource.uid);
    const type = datasource.type || (full && full.type) || 'prometheus';
    const minInterval = intervalOf((panel.interval) || (full && full.jsonData && full.jsonData.timeInterval));
    const common = {
      refId: target.refId || String.fromCharCode(65 + index),
      datasource: { uid: datasource.uid, type },
      intervalMs: panelInterval(rangeMs, maxDataPoints, minInterval),
      maxDataPoints,
    };
    return type === 'elasticsearch' ? elasticsearchQuery(target, common, substitute) : prometheusQuery(target, common, substitute);
  });
  return { from: String(rangeMs.from), to: String(rangeMs.to), queries };
}

function intervalOf(text) {
  const match = /^>?(\d+)(ms|s|m|h|d)$/.exec(String(text || ''));
  if (!match) return 0;
  const factor = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 }[match[2]];
  return Number(match[1]) * factor;
}

// {frames, errors:[{refId, text}]} from the answer, whatever its HTTP status.
export async function runQueries(request) {
  if (!request.queries.length) return { frames: [], errors: [] };
  const answer = await postJSON('/api/ds/query', request);
  const results = answer.body && answer.body.results;
  if (!results || typeof results !== 'object') {
    const message = (answer.body && (answer.body.message || answer.body.error)) || `HTTP ${answer.status}`;
    return { frames: [], errors: [{ refId: '', text: String(message) }] };
  }
  const frames = [];
  const errors = [];
  for (const query of request.queries) {
    const result = results[query.refId];
    if (!result) continue;
    if (result.error) errors.push({ refId: query.refId, text: String(result.error) });
    for (const frame of result.frames || []) frames.push(frame);
  }
  return { frames, errors };
}

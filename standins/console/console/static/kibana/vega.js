// Kibana's vega visualizations: the spec's Elasticsearch data sources are run here, with
// Kibana's substitutions (vis_type_vega's EsQueryParser), and drawn with vega-embed.
//   "%context%": true + "%timefield%": f  -> body.query = the dashboard query + a range on f
//   {"%timefilter%": "min"|"max"}          -> the time range's bound in ms
//   {"%timefilter%": true}                 -> {gte, lte, format: "epoch_millis"}
//   {"%autointerval%": true | n}           -> an interval string (about 50 | n buckets)
import { search, timeRangeFilter, autoInterval } from './search.js';

export class VegaSpecError extends Error {}

// Kibana reads specs as HJSON; the stack's are plain JSON, so JSON with comments and trailing
// commas removed covers them.
export function parseSpec(text) {
  if (text && typeof text === 'object') return text;
  try {
    return JSON.parse(text);
  } catch {
    const relaxed = String(text)
      .replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m, str) => str || '')
      .replace(/,(\s*[}\]])/g, '$1');
    try {
      return JSON.parse(relaxed);
    } catch (error) {
      throw new VegaSpecError(`The vega spec is not valid JSON: ${error.message}`);
    }
  }
}

function substitute(node, context) {
  if (Array.isArray(node)) return node.map((item) => substitute(item, context));
  if (!node || typeof node !== 'object') return node;
  if ('%timefilter%' in node) {
    const which = node['%timefilter%'];
    if (which === 'min') return context.rangeMs.from;
    if (which === 'max') return context.rangeMs.to;
    if (which === true) return { gte: context.rangeMs.from, lte: context.rangeMs.to, format: 'epoch_millis' };
    throw new VegaSpecError(`"%timefilter%" must be "min", "max" or true, got ${JSON.stringify(which)}`);
  }
  if ('%autointerval%' in node) {
    const buckets = node['%autointerval%'] === true ? 50 : Number(node['%autointerval%']);
    return autoInterval(context.rangeMs, buckets > 0 ? buckets : 50).name;
  }
  const out = {};
  for (const [key, value] of Object.entries(node)) out[key] = substitute(value, context);
  return out;
}

// The search request one data.url stands for.
export function searchRequest(url, context) {
  if (!url || typeof url !== 'object') throw new VegaSpecError('data.url must be an object with index and body (Elasticsearch queries)');
  const { '%context%': withContext, '%timefield%': timeField, index, body: rawBody, ...rest } = url;
  if (rest['%type%'] && rest['%type%'] !== 'elasticsearch') throw new VegaSpecError(`data.url %type% ${rest['%type%']} is not supported by the console (elasticsearch only)`);
  if (!index) throw new VegaSpecError('data.url.index is missing: name the index pattern to search (e.g. logs-*)');
  const body = substitute(rawBody || {}, context);
  if (withContext || timeField) {
    if (body.query) throw new VegaSpecError('data.url.body.query must not be set together with "%context%" or "%timefield%"');
    const must = [];
    if (withContext) must.push(context.query);
    if (timeField) must.push(timeRangeFilter(timeField, context.rangeMs));
    body.query = { bool: { must: must.length ? must : [{ match_all: {} }] } };
  }
  return { index, body };
}

function property(object, path) {
  if (!path) return object;
  let value = object;
  for (const key of String(path).split('.')) {
    if (value === null || value === undefined) return undefined;
    value = value[key];
  }
  return value;
}

function dataEntries(spec) {
  if (Array.isArray(spec.data)) return spec.data;
  return spec.data ? [spec.data] : [];
}

// Runs every Elasticsearch data source of the spec; returns {spec, empty} with each source's
// url replaced by values (format.property applied), and whether every search matched nothing.
export async function resolveData(specIn, context) {
  const spec = structuredClone(specIn);
  let matched = 0;
  let searches = 0;
  for (const data of dataEntries(spec)) {
    if (!data.url || typeof data.url !== 'object') continue;
    searches += 1;
    const { index, body } = searchRequest(data.url, context);
    const response = await search(index, body);
    const total = response.hits && response.hits.total;
    const count = typeof total === 'number' ? total : (total && total.value) || 0;
    const format = data.format || {};
    let values = property(response, format.property);
    if (values === undefined) values = [];
    if (!Array.isArray(values)) values = [values];
    if (count > 0 && values.length) matched += 1;
    delete data.url;
    const { property: _p, ...restFormat } = format;
    if (Object.keys(restFormat).length) data.format = restFormat;
    else delete data.format;
    data.values = values;
  }
  return { spec, empty: searches > 0 && matched === 0 };
}

// Kibana's light look for vega: its fonts and axis colours.
const KIBANA_CONFIG = {
  background: 'transparent',
  font: 'Inter, BlinkMacSystemFont, Helvetica, Arial, sans-serif',
  axis: { labelColor: '#69707d', titleColor: '#343741', gridColor: '#eef0f3', domainColor: '#d3dae6', tickColor: '#d3dae6', labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500 },
  legend: { labelColor: '#343741', titleColor: '#343741', labelFontSize: 11 },
  title: { color: '#343741', fontSize: 14, fontWeight: 600, anchor: 'start' },
  range: { category: ['#54B399', '#6092C0', '#D36086', '#9170B8', '#CA8EAE', '#D6BF57', '#B9A888', '#DA8B45', '#AA6556', '#E7664C'] },
  mark: { color: '#54B399' },
  line: { color: '#54B399' },
  bar: { color: '#54B399' },
  point: { color: '#54B399' },
  view: { stroke: 'transparent' },
};

export async function renderVega(element, spec, { width, height }) {
  const sized = { ...spec };
  sized.width = Math.max(50, width);
  sized.height = Math.max(50, height);
  sized.autosize = spec.autosize || { type: 'fit', contains: 'padding' };
  const result = await window.vegaEmbed(element, sized, { actions: false, renderer: 'svg', config: KIBANA_CONFIG, tooltip: true });
  return result;
}

// Searches through the Kibana side's POST /internal/search/es (the data plugin's route), and the
// helpers Discover and the vega panels share: the time filter and a histogram interval.
import { postJSON, errorText } from '../common/http.js';
import { kqlToQuery } from './kql.js';

export class SearchError extends Error {}

// The ES _search response, or a SearchError with the store's own reason.
export async function search(index, body) {
  const answer = await postJSON('/internal/search/es', { params: { index, body } }, { 'kbn-xsrf': 'kibana' });
  if (!answer.ok) throw new SearchError(errorText(answer.body, answer.status));
  const raw = answer.body && answer.body.rawResponse;
  if (!raw) throw new SearchError(`unexpected answer from /internal/search/es: ${JSON.stringify(answer.body).slice(0, 200)}`);
  return raw;
}

// The user's query bar text as an ES query: KQL parsed here, Lucene sent as query_string.
export function userQuery(text, language) {
  const query = String(text || '').trim();
  if (!query) return { match_all: {} };
  if (language === 'lucene') return { query_string: { query, analyze_wildcard: true } };
  return kqlToQuery(query);
}

export function timeRangeFilter(field, rangeMs) {
  return {
    range: {
      [field]: {
        gte: new Date(rangeMs.from).toISOString(),
        lte: new Date(rangeMs.to).toISOString(),
        format: 'strict_date_optional_time',
      },
    },
  };
}

// Kibana's auto interval: about 50 buckets over the range, rounded to a familiar step.
const STEPS = [
  ['1s', 1e3], ['5s', 5e3], ['10s', 1e4], ['30s', 3e4], ['1m', 6e4], ['5m', 3e5], ['10m', 6e5],
  ['30m', 18e5], ['1h', 36e5], ['3h', 108e5], ['12h', 432e5], ['1d', 864e5], ['7d', 6048e5],
];

export function autoInterval(rangeMs, buckets = 50) {
  const raw = (rangeMs.to - rangeMs.from) / buckets;
  for (const [name, ms] of STEPS) if (ms >= raw) return { name, ms };
  const last = STEPS[STEPS.length - 1];
  return { name: last[0], ms: last[1] };
}

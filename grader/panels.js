// Runs in the page (grader/browser.py): one entry per dashboard panel, {title, state, text}.
// state: loading, data, nodata or error. The products' own markers first; the console's
// `data-console-state` where the panel carries it.
// Grafana puts `data-testid Panel header <title>` on the panel's header: the panel is the
// header's closest `[data-viz-panel-key]` (scenes dashboards) or `section`. Kibana marks each
// panel `dashboardPanel`, and a panel done rendering `data-render-complete="true"`.
const product = arguments[0];
const grafana = product === 'grafana';
const headerPrefix = 'data-testid Panel header ';
const marked = grafana
  ? [...document.querySelectorAll(`[data-testid^="${headerPrefix}"]`)]
  : [...document.querySelectorAll('[data-test-subj="dashboardPanel"]')];
return marked.map((el) => {
  const root = el.hasAttribute('data-console-state') || !grafana
    ? el
    : (el.closest('[data-viz-panel-key]') || el.closest('section') || el.parentElement || el);
  const title = grafana
    ? el.getAttribute('data-testid').slice(headerPrefix.length)
    : (el.getAttribute('data-title')
       || root.querySelector('[data-test-subj="dashboardPanelTitle"]')?.textContent || '');
  const text = (root.innerText || '').trim();
  let state = root.getAttribute('data-console-state');
  if (!state) {
    const error = root.querySelector([
      '[data-testid="data-testid Panel status error"]', '[data-test-subj="embeddableError"]',
      '[data-test-subj="embeddableStackError"]'].join(', '));
    const loading = grafana
      ? root.querySelector('[data-testid="data-testid Panel loading bar"], [aria-label="Panel loading bar"]')
      : !root.querySelector('[data-render-complete="true"]');
    if (error) state = 'error';
    else if (loading) state = 'loading';
    else if (/(^|\n)(No data|No results found)(\n|$)/.test(text)) state = 'nodata';
    else if (root.querySelector('canvas, svg, table') || text.length > title.length) state = 'data';
    else state = 'loading';
  }
  return {title: title.trim(), state: state, text: text.slice(0, 300)};
});

// Runs in the page (grader/browser.py): one entry per dashboard panel, {title, state, text}.
// state: loading, data, nodata or error. The products' own markers first; the console's
// `data-console-state` where the panel carries it.
const product = arguments[0];
const grafana = product === 'grafana';
const panels = grafana
  ? [...document.querySelectorAll('[data-testid^="data-testid Panel header "]')]
  : [...document.querySelectorAll('[data-test-subj="dashboardPanel"]')];
return panels.map((el) => {
  const title = grafana
    ? el.getAttribute('data-testid').slice('data-testid Panel header '.length)
    : (el.getAttribute('data-title') || el.querySelector('[data-test-subj="dashboardPanelTitle"]')?.textContent || '');
  const text = (el.innerText || '').trim();
  let state = el.getAttribute('data-console-state');
  if (!state) {
    const loading = el.querySelector('[data-testid="data-testid Panel loading bar"], [aria-label="Panel loading bar"], .euiLoadingChart, .euiProgress');
    const error = el.querySelector('[data-testid="data-testid Panel status error"], [data-test-subj="embeddableError"], .vgaVis__messages .euiCallOut--danger');
    if (error) state = 'error';
    else if (loading) state = 'loading';
    else if (/(^|\n)(No data|No results found)(\n|$)/.test(text)) state = 'nodata';
    else if (el.querySelector('canvas, svg, table, [data-testid="data-testid stat"]') || text.length > title.length) state = 'data';
    else state = 'loading';
  }
  return {title: title.trim(), state: state, text: text.slice(0, 300)};
});

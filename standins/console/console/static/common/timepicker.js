// The time range picker both sides share: a button showing the range, a drop-down of quick
// ranges and a custom from/to form, plus an auto-refresh select. The caller passes the test
// attributes its product uses (Grafana's data-testid, Kibana's data-test-subj).
import { h } from './dom.js';
import { describeRange, parseTime } from './datemath.js';

// now-30m too: the stack's dashboards open on it.
export const QUICK_RANGES = ['now-5m', 'now-15m', 'now-30m', 'now-1h', 'now-6h', 'now-24h'];
export const REFRESH_CHOICES = ['', '5s', '10s', '30s', '1m'];

const SVG = 'http://www.w3.org/2000/svg';

// A clock outline (no icon font or emoji: the page must look the same on any machine).
function clockIcon(className) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '14');
  svg.setAttribute('height', '14');
  svg.setAttribute('class', className);
  svg.setAttribute('aria-hidden', 'true');
  const circle = document.createElementNS(SVG, 'circle');
  Object.entries({ cx: 8, cy: 8, r: 6.5, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.4 }).forEach(([k, v]) => circle.setAttribute(k, v));
  const hands = document.createElementNS(SVG, 'path');
  Object.entries({ d: 'M8 4.5V8l2.5 1.5', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.4, 'stroke-linecap': 'round' }).forEach(([k, v]) => hands.setAttribute(k, v));
  svg.append(circle, hands);
  return svg;
}

function testAttrs(attr, value) {
  return value ? { [attr]: value } : {};
}

// state: {from, to, refresh}; onChange({from, to, refresh}) after every user choice.
export function timePicker({ state, onChange, attr, ids, classPrefix }) {
  const root = h('div', { class: `${classPrefix}-timepicker` });
  const label = h('span', { class: `${classPrefix}-timepicker-label` }, describeRange(state.from, state.to));
  const openButton = h(
    'button',
    { type: 'button', class: `${classPrefix}-button`, ...testAttrs(attr, ids.open), 'aria-label': 'Time range picker', title: `${state.from} to ${state.to}` },
    clockIcon(`${classPrefix}-icon-clock`),
    label,
  );
  const fromInput = h('input', { type: 'text', value: state.from, ...testAttrs(attr, ids.from), 'aria-label': 'Time range from' });
  const toInput = h('input', { type: 'text', value: state.to, ...testAttrs(attr, ids.to), 'aria-label': 'Time range to' });
  const formError = h('div', { class: `${classPrefix}-timepicker-error`, role: 'alert' });
  const dropdown = h('div', { class: `${classPrefix}-timepicker-dropdown`, hidden: true });

  function choose(from, to) {
    state.from = from;
    state.to = to;
    label.textContent = describeRange(from, to);
    openButton.title = `${from} to ${to}`;
    dropdown.hidden = true;
    onChange({ ...state });
  }

  const applyButton = h('button', {
    type: 'submit',
    class: `${classPrefix}-button ${classPrefix}-button-primary`,
    ...testAttrs(attr, ids.apply),
  }, 'Apply time range');
  const form = h('form', {
    class: `${classPrefix}-timepicker-form`,
    onsubmit: (event) => {
      event.preventDefault();
      const from = fromInput.value.trim();
      const to = toInput.value.trim();
      const fromMs = parseTime(from);
      const toMs = parseTime(to);
      if (Number.isNaN(fromMs) || Number.isNaN(toMs)) {
        formError.textContent = `Invalid time: use now-15m, now, epoch milliseconds or 2024-01-31 12:00 (got "${Number.isNaN(fromMs) ? from : to}")`;
        return;
      }
      if (fromMs >= toMs) {
        formError.textContent = '"From" must be before "To"';
        return;
      }
      formError.textContent = '';
      choose(from, to);
    },
  },
  h('div', { class: `${classPrefix}-timepicker-title` }, 'Absolute time range'),
  h('label', {}, 'From', fromInput),
  h('label', {}, 'To', toInput),
  formError,
  applyButton);

  const quick = h('ul', { class: `${classPrefix}-timepicker-quick` },
    QUICK_RANGES.map((from) => h('li', {},
      h('button', { type: 'button', class: `${classPrefix}-link`, onclick: () => choose(from, 'now') }, describeRange(from, 'now')))));
  dropdown.append(form, quick);

  openButton.addEventListener('click', () => {
    fromInput.value = state.from;
    toInput.value = state.to;
    formError.textContent = '';
    dropdown.hidden = !dropdown.hidden;
  });
  document.addEventListener('click', (event) => {
    if (!root.contains(event.target)) dropdown.hidden = true;
  });

  const refreshSelect = h('select', {
    class: `${classPrefix}-refresh-select`,
    ...testAttrs(attr, ids.refresh),
    'aria-label': 'Auto refresh interval',
    onchange: () => {
      state.refresh = refreshSelect.value;
      onChange({ ...state });
    },
  }, REFRESH_CHOICES.map((value) => h('option', { value, selected: value === (state.refresh || '') }, value || 'Off')));
  if (state.refresh && !REFRESH_CHOICES.includes(state.refresh)) {
    refreshSelect.prepend(h('option', { value: state.refresh, selected: true }, state.refresh));
  }

  const runButton = h('button', {
    type: 'button',
    class: `${classPrefix}-button`,
    ...testAttrs(attr, ids.run),
    'aria-label': 'Refresh',
    title: 'Refresh',
    onclick: () => onChange({ ...state }),
  }, '\u21bb');

  root.append(openButton, dropdown, runButton, refreshSelect);
  return {
    element: root,
    setRange(from, to) {
      state.from = from;
      state.to = to;
      label.textContent = describeRange(from, to);
    },
  };
}


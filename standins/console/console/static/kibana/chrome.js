// Kibana's page frame: the header with the logo, the app links and the user, then breadcrumbs.
import { h } from '../common/dom.js';
import { metaContent } from '../common/http.js';

// The time picker's options on every Kibana page: Kibana's own test subjects, so a test (or
// a script written for Kibana) finds its buttons by the same names.
export const KIBANA_PICKER = {
  attr: 'data-test-subj',
  ids: {
    open: 'superDatePickerToggleQuickMenuButton',
    from: 'superDatePickerStartDateInput',
    to: 'superDatePickerEndDateInput',
    apply: 'superDatePickerApplyTimeButton',
    run: 'querySubmitButton',
    refresh: 'superDatePickerRefreshIntervalSelect',
  },
  classPrefix: 'kbn',
};

export function kibanaChrome(app, crumbs) {
  const user = metaContent('console-user', '');
  const role = metaContent('console-role', '');
  const header = h('header', { class: 'kbn-header', 'data-test-subj': 'headerGlobalNav' },
    h('a', { class: 'kbn-logo', href: '/app/discover', 'aria-label': 'console home', 'data-test-subj': 'logo' },
      h('span', { class: 'kbn-logo-mark', 'aria-hidden': 'true' }), h('span', {}, 'console'), h('span', { class: 'kbn-logo-note' }, 'Kibana stand-in')),
    h('nav', { class: 'kbn-appnav' },
      h('a', { href: '/app/discover', 'data-test-subj': 'discoverNavLink', class: app === 'discover' ? 'kbn-active' : '' }, 'Discover'),
      h('a', { href: '/app/dashboards', 'data-test-subj': 'dashboardsNavLink', class: app === 'dashboards' ? 'kbn-active' : '' }, 'Dashboards')),
    h('div', { class: 'kbn-header-user' },
      user ? h('span', { class: 'kbn-user', 'data-test-subj': 'userMenuButton', title: role ? `Role: ${role}` : '' }, h('span', { class: 'kbn-avatar' }, user.slice(0, 1).toUpperCase()), user) : null,
      h('a', { href: '/logout', 'data-test-subj': 'logoutLink' }, 'Log out')));
  const breadcrumbs = h('nav', { class: 'kbn-breadcrumbs', 'aria-label': 'Breadcrumbs', 'data-test-subj': 'breadcrumbs' },
    crumbs.map((crumb, i) => [
      i ? h('span', { class: 'kbn-crumb-sep', 'aria-hidden': 'true' }, '/') : null,
      crumb.href && i < crumbs.length - 1 ? h('a', { href: crumb.href, class: 'kbn-crumb' }, crumb.text) : h('span', { class: 'kbn-crumb kbn-crumb-last', 'data-test-subj': 'breadcrumb last' }, crumb.text),
    ]));
  return h('div', { class: 'kbn-chrome' }, header, h('div', { class: 'kbn-subheader' }, breadcrumbs));
}

// The Grafana side's router: the dashboard list on / and /dashboards, a dashboard on
// /d/<uid>/<slug>, under a top bar like Grafana's.
import { h } from '../common/dom.js';
import { getJSON, metaContent } from '../common/http.js';
import { DashboardPage } from './dashboard.js';

function topBar() {
  const user = metaContent('console-user', '');
  const role = metaContent('console-role', '');
  return h('header', { class: 'gf-topbar' },
    h('a', { class: 'gf-logo', href: '/', 'aria-label': 'Home', 'data-testid': 'data-testid Grafana logo' }, h('span', { class: 'gf-logo-mark' }), 'console', h('span', { class: 'gf-logo-note' }, 'Grafana stand-in')),
    h('nav', { class: 'gf-topnav' },
      h('a', { href: '/', 'data-testid': 'data-testid Nav menu item Home' }, 'Home'),
      h('a', { href: '/dashboards', 'data-testid': 'data-testid Nav menu item Dashboards' }, 'Dashboards')),
    h('div', { class: 'gf-topbar-user' },
      user ? h('span', { class: 'gf-user', title: role ? `Role: ${role}` : '' }, user, role ? h('span', { class: 'gf-user-role' }, role) : null) : null,
      h('a', { href: '/logout', class: 'gf-signout' }, 'Sign out')));
}

// Grafana colours each tag from a hash of its name, so a tag keeps its colour everywhere.
const TAG_COLORS = ['#E24D42', '#1F78C1', '#BA43A9', '#705DA0', '#466803', '#508642', '#447EBC', '#C15C17', '#890F02', '#757575', '#0A437C', '#6D1F62', '#0E4AB4', '#58140C', '#052B51', '#511749', '#3F2B5B'];

function tagColor(tag) {
  let hash = 0;
  for (const c of tag) hash = (hash * 31 + c.charCodeAt(0)) | 0;
  return TAG_COLORS[Math.abs(hash) % TAG_COLORS.length];
}

async function dashboardList(main) {
  document.title = 'Dashboards - console (Grafana)';
  const params = new URLSearchParams(window.location.search);
  const filter = h('input', {
    type: 'search',
    class: 'gf-input',
    placeholder: 'Search for dashboards',
    value: params.get('query') || '',
    'aria-label': 'Search for dashboards',
    'data-testid': 'data-testid Search dashboards input',
  });
  const list = h('ul', { class: 'gf-search-list', 'data-testid': 'data-testid Search section' });
  main.append(h('div', { class: 'gf-page' },
    h('h1', { class: 'gf-page-title' }, 'Dashboards'),
    h('p', { class: 'gf-page-subtitle' }, 'Create and manage dashboards to visualize your data'),
    filter, list));
  let hits = [];
  try {
    hits = await getJSON('/api/search?type=dash-db');
  } catch (error) {
    list.replaceWith(h('div', { class: 'gf-page-error', role: 'alert' }, `Failed to load dashboards: ${error.message}`));
    return;
  }
  const show = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = hits.filter((hit) => !needle || hit.title.toLowerCase().includes(needle));
    list.replaceChildren(...shown.map((hit) => h('li', { class: 'gf-search-item', 'data-testid': `data-testid Dashboard search item ${hit.title}` },
      h('a', { href: hit.url || `/d/${hit.uid}/${hit.slug || ''}`, class: 'gf-search-link' }, hit.title),
      h('span', { class: 'gf-search-folder' }, hit.folderTitle || 'Dashboards'),
      h('span', { class: 'gf-search-tags' }, (hit.tags || []).map((tag) => h('span', { class: 'gf-tag', style: { background: tagColor(tag) } }, tag))))));
    if (!shown.length) list.append(h('li', { class: 'gf-search-empty' }, 'No dashboards found'));
  };
  filter.addEventListener('input', show);
  show();
}

async function main() {
  const app = document.getElementById('app');
  const content = h('main', { class: 'gf-main' });
  app.append(topBar(), content);
  const match = /^\/d\/([^/]+)/.exec(window.location.pathname);
  if (match) {
    await new DashboardPage(content, decodeURIComponent(match[1])).load();
  } else {
    await dashboardList(content);
  }
}

main();

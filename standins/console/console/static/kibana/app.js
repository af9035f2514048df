// The Kibana side's router: Discover on /app/discover, the dashboard list on /app/dashboards and
// a saved dashboard on /app/dashboards#/view/<id> (the hash changes without a page load).
import { clear } from '../common/dom.js';
import { DiscoverPage } from './discover.js';
import { dashboardList, DashboardView } from './dashboards.js';

function route() {
  const app = clear(document.getElementById('app'));
  const path = window.location.pathname;
  if (path.startsWith('/app/dashboards')) {
    const view = /^#\/view\/([^?]+)/.exec(window.location.hash);
    if (view) return new DashboardView(app, decodeURIComponent(view[1])).load();
    return dashboardList(app);
  }
  if (path === '/' || path === '/app' || path === '/app/home') {
    window.location.replace('/app/discover');
    return null;
  }
  return new DiscoverPage(app).load();
}

let currentPath = window.location.pathname;
window.addEventListener('hashchange', () => {
  // Discover keeps its own state in the hash; only the dashboards app routes on it.
  if (currentPath.startsWith('/app/dashboards')) window.location.reload();
  currentPath = window.location.pathname;
});

route();

// The Kibana side's router: Discover on /app/discover, the dashboard list on /app/dashboards and
// a saved dashboard on /app/dashboards#/view/<id>.
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

// A new hash from outside (a link, the address bar) is a new app state: start over from it.
// The pages' own URL updates use history.replaceState, which fires no hashchange.
window.addEventListener('hashchange', () => window.location.reload());

route();

"""The gateway's landing page (`GET /`): every UI of the stack, what it is for and how to log
in, for a person who does not know the ports. Built from the topology when the gateway's
config is rendered, so a moved port moves its link; `python -m stack open` uses the same list.
The page names the user and the secret file to `cat`, never a password.

The page lives inside nginx.conf (`nginx_chunks`), not in a file beside it: nginx's master
reads the config, while a file would be read by its workers, which run as `nobody` when the
stack runs as root and cannot enter a data directory that only its owner may.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from stack.topology import MAIN_PORT, Component, Credentials, Topology

# nginx refuses a quoted parameter longer than its 4 KiB read buffer ("too long
# parameter"), so the page reaches nginx.conf in pieces below that.
CHUNK = 3000


@dataclass(frozen=True)
class Link:
    """One UI: `name` is what `python -m stack open NAME` takes."""

    name: str
    title: str
    purpose: str
    component: str
    port: str = MAIN_PORT
    path: str = "/"
    login: bool = True  # the component's credentials (and its viewer login, if any)
    guide: str = ""  # the component whose docs page to name, when not `component`


# The UIs a person opens, in the order the page lists them; the rest of the topology are
# APIs and exporters that nobody reads in a browser.
LINKS = (
    Link(
        "status",
        "Status page",
        "Public status of every part of the stack, incidents, history, email sign-up.",
        "gateway",
        path="/status",
        login=False,
        guide="status",
    ),
    Link(
        "dashboards",
        "Dashboards (Grafana stand-in)",
        "The provisioned dashboards over Prometheus: traffic, errors, latency, saturation.",
        "console",
    ),
    Link(
        "logs",
        "Log search (Kibana stand-in)",
        "Discover: search the logs of every service and of the gateway in the log store.",
        "console",
        port="kibana",
    ),
    Link(
        "prometheus",
        "Prometheus",
        "Metrics, their queries (PromQL), the alert rules and what they fire.",
        "prometheus",
    ),
    Link(
        "overview",
        "Stack overview (Prometheus console)",
        "One page: each service up or not, its request rate, error ratio and p95 latency.",
        "prometheus",
        path="/consoles/stack.html",
    ),
    Link(
        "alertmanager",
        "Alertmanager",
        "Firing alerts, their grouping and routing, silences.",
        "alertmanager",
    ),
    Link(
        "mailbox",
        "Mailbox (mail catcher)",
        "Every email the stack sends: alert notifications, status page confirmations.",
        "mailbox",
    ),
    Link(
        "rabbitmq",
        "RabbitMQ management",
        "The broker's exchanges, queues, their depth and message rates, its connections.",
        "rabbitmq",
        port="management",
    ),
)


def names() -> list[str]:
    return [link.name for link in LINKS]


def url(topology: Topology, link: Link) -> str:
    return topology.get(link.component).url(link.port, link.path)


def home_url(topology: Topology) -> str:
    return topology.get("gateway").url(path="/")


def logins(component: Component, link: Link) -> list[tuple[str, Credentials]]:
    """(what it may do, login) pairs: the full login first, then the read-only one."""
    if not link.login:
        return []
    found = [("full access", component.credentials), ("read-only", component.viewer)]
    return [(kind, c) for kind, c in found if c is not None]


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b; background: #fff; line-height: 1.5; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; }
ul { list-style: none; padding: 0; }
li { border: 1px solid #d0d7de; border-radius: 6px; padding: .75rem 1rem; margin: .75rem 0; }
a { color: #0645ad; font-weight: 600; font-size: 1.1rem; }
a:focus { outline: 3px solid #ffbf47; }
.url, code { font-family: ui-monospace, monospace; font-size: .9rem; }
.url { color: #555; margin-left: .5rem; }
.login { margin: .25rem 0 0; color: #333; }
code { background: #f3f4f6; padding: .05rem .3rem; border-radius: 3px; }
"""


def _item(topology: Topology, link: Link, secrets_dir: Path) -> str:
    component = topology.get(link.component)
    doc = topology.get(link.guide or link.component).doc
    target = escape(url(topology, link))
    lines = [
        f'<li><a href="{target}">{escape(link.title)}</a><span class="url">{target}</span>',
        f"<div>{escape(link.purpose)} Guide: <code>docs/{escape(doc)}</code>.</div>",
    ]
    found = logins(component, link)
    if not found:
        lines.append('<p class="login">No login.</p>')
    for kind, login in found:
        secret = escape(str(secrets_dir / login.secret))
        lines.append(
            f'<p class="login">Log in ({kind}) as <code>{escape(login.username)}</code>, '
            f"password: <code>cat {secret}</code></p>"
        )
    return "\n".join([*lines, "</li>"])


def page(topology: Topology, secrets_dir: Path) -> str:
    """The landing page's HTML: self-contained (no external asset), no secret value in it."""
    items = "\n".join(_item(topology, link, secrets_dir) for link in LINKS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reference stack</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>Reference stack</h1>
<p>The stack's user interfaces. Passwords are generated on the first
<code>python -m stack up</code>; each login below names the file that holds it.
<code>python -m stack open NAME</code> prints a link ({escape(", ".join(names()))}).</p>
<ul>
{items}
</ul>
<p>The API is on this gateway under <code>/api/</code>; its health at
<a href="/health">/health</a>.</p>
</main>
</body>
</html>
"""


def nginx_chunks(html: str) -> list[str]:
    """The page as nginx.conf's single-quoted strings, each short enough for nginx. In such a
    string `\\` and `'` are escapes and `$` starts a variable: as HTML character references
    they mean the same to a browser and nothing to nginx."""
    safe = html.replace("\\", "&#92;").replace("'", "&#39;").replace("$", "&#36;")
    return [safe[i : i + CHUNK] for i in range(0, len(safe), CHUNK)]

"""`python -m stack open [NAME]`: the URL of one of the stack's UIs (stack/landing.py), on the
ports the running stack uses; without NAME the gateway's landing page, which links them all."""

from __future__ import annotations

import webbrowser

import typer

from stack import landing, ports_record
from stack.cli import _active_runtime, _data, app, err, out


@app.command(name="open")
def open_ui(
    name: str = typer.Argument("", help=f"one of: {', '.join(landing.names())}"),
    browser: bool = typer.Option(False, "--browser", help="open it in a web browser too"),
) -> None:
    """Print the URL of a UI (no NAME: the landing page, which lists them all)."""
    # The ports of the stack `up` started, so STACK_PORT_* overrides are honoured; compose
    # publishes Grafana and Kibana where the local runtime has its console.
    data = _data()
    if _active_runtime(data) == "compose":
        from stack.runtimes.compose.render import landing_topology

        topology = landing_topology()
    else:
        topology = ports_record.topology_of(data)
    by_name = {link.name: link for link in landing.LINKS}
    if name and name not in by_name:
        err.print(
            f"[bold red]error:[/] unknown UI {name!r}; valid names: {', '.join(by_name)}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    url = landing.url(topology, by_name[name]) if name else landing.home_url(topology)
    out.print(url, highlight=False, soft_wrap=True)
    if browser:
        webbrowser.open(url)

"""Render a config template: `{{ name }}` placeholders, nothing else.

Both runtimes render the same files from `stack/config/`; only the values differ (paths,
hosts, intervals). A placeholder without a value is an error naming the file and the key,
so a half-rendered config never reaches a program.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from stack.errors import ConfigError
from stack.files import write_if_changed

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


def render_text(text: str, values: Mapping[str, object], *, source: str = "<template>") -> str:
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(values))
    if missing:
        raise ConfigError(f"{source}: no value for placeholder(s) {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def render_file(
    source: Path, dest: Path, values: Mapping[str, object], *, mode: int = 0o644
) -> bool:
    """Write the rendered file atomically; returns whether its content changed."""
    text = render_text(source.read_text(encoding="utf-8"), values, source=str(source))
    return write_if_changed(dest, text, mode=mode)

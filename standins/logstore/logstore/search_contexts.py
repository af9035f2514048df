"""Search contexts kept alive between requests, each under an id: scrolls (scroll.py) and
points in time (pit.py). Each kind has its own registry, bounded as ES bounds them, and a
context not used within its keep-alive expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from .errors import ESError

MAX_CONTEXTS = 500  # ES's search.max_open_scroll_context counts scrolls and points in time


class KeptAlive(Protocol):
    keep_alive: float  # seconds
    expires: float  # time.monotonic()


C = TypeVar("C", bound=KeptAlive)


class Contexts(Generic[C]):
    def __init__(self) -> None:
        self.contexts: dict[str, C] = {}
        self.lock = threading.Lock()

    def add(self, context_id: str, make: Callable[[], C]) -> C:
        """Keep the context `make` opens (under the lock) as `context_id`; 429 when
        MAX_CONTEXTS are open already."""
        self.expire()
        with self.lock:
            if len(self.contexts) >= MAX_CONTEXTS:
                raise ESError(
                    429,
                    "too_many_scroll_contexts_exception",
                    "Trying to create too many scroll contexts. Must be less than or equal to: "
                    f"[{MAX_CONTEXTS}]",
                )
            context = make()
            self.contexts[context_id] = context
        return context

    def find(self, context_id: str) -> C:
        """The live context `context_id`; 404 when there is none (or it expired)."""
        self.expire()
        found = self.contexts.get(context_id)
        if found is None:
            raise ESError(
                404,
                "search_context_missing_exception",
                f"No search context found for id [{context_id}]",
            )
        return found

    @staticmethod
    def renew(context: C, keep_alive: float | None) -> C:
        """Used now: alive for another keep-alive (`keep_alive` seconds if given, from now on)."""
        if keep_alive is not None:
            context.keep_alive = keep_alive
        context.expires = time.monotonic() + context.keep_alive
        return context

    def remove(self, ids: list[str] | None) -> int:
        """Free these contexts (None: every one): how many there were."""
        with self.lock:
            if ids is None:
                ids = list(self.contexts)
            return sum(1 for i in ids if self.contexts.pop(i, None) is not None)

    def expire(self) -> None:
        now = time.monotonic()
        with self.lock:
            for key in [k for k, c in self.contexts.items() if c.expires < now]:
                del self.contexts[key]

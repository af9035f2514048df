"""Shared fixtures: each test module starts its own mailbox as `running` (with or without a
login); `box` is that mailbox, emptied before each test."""

from __future__ import annotations

import pytest
from mailbox_standin.testing import Mailbox


@pytest.fixture
def box(running: Mailbox) -> Mailbox:
    with running.client() as http:
        assert http.delete("/api/v1/messages").text == "ok"
    return running

"""The SMTP sink: aiosmtpd, no TLS, no AUTH, any recipient; 250 only once the message is on disk.

Like Mailpit's smtpd (server/smtpd/smtpd.go, mailHandler), the envelope is written into the
stored message: a `Return-Path` from MAIL FROM, a `Message-Id` when the client sent none, and a
`Bcc` for envelope recipients that no To/Cc/Bcc header names. Unlike Mailpit, a message whose
headers cannot be parsed is still stored (as received) rather than refused.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import uuid
from email import policy
from email.parser import BytesHeaderParser

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailbox_standin.store import Store

logger = logging.getLogger(__name__)

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_RETURN_PATH_LINE = re.compile(rb"(?im)^Return-Path:[^\r\n]*\r?\n")
_BCC_LINE = re.compile(rb"(?im)^Bcc:[ \t]*")


def with_envelope_headers(raw: bytes, *, mail_from: str, rcpt_tos: list[str]) -> bytes:
    """The message as Mailpit would store it; on any doubt, the message exactly as received."""
    try:
        return _add_envelope_headers(raw, mail_from=mail_from, rcpt_tos=rcpt_tos)
    except Exception:
        logger.warning("could not add envelope headers; storing the message as received")
        return raw


def _add_envelope_headers(raw: bytes, *, mail_from: str, rcpt_tos: list[str]) -> bytes:
    end = _HEADER_END.search(raw)
    head, body = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(head + b"\r\n\r\n")
    added: list[bytes] = []

    return_path = str(headers.get("Return-Path", "")).strip().strip("<>")
    line = f"Return-Path: <{mail_from}>\r\n".encode()
    if return_path and return_path != mail_from:
        head = _RETURN_PATH_LINE.sub(line.replace(b"\\", b"\\\\"), head + b"\r\n", count=1)[:-2]
    elif not return_path:
        added.append(line)

    if not str(headers.get("Message-Id", "")).strip():
        added.append(f"Message-Id: <{uuid.uuid4()}@mailbox>\r\n".encode())

    named = {
        address.lower()
        for _, address in email.utils.getaddresses(
            [str(v) for name in ("To", "Cc", "Bcc") for v in headers.get_all(name) or []]
        )
    }
    missing = [r for r in rcpt_tos if r.lower() not in named]
    if missing:
        listed = ", ".join(missing)
        if headers.get("Bcc") is not None:
            head = _BCC_LINE.sub(f"Bcc: {listed}, ".encode(), head, count=1)
        else:
            added.append(f"Bcc: {listed}\r\n".encode())
    return b"".join(reversed(added)) + head + body


class SinkHandler:
    """aiosmtpd handler: every message is stored, whatever its recipients."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        data = with_envelope_headers(
            raw, mail_from=envelope.mail_from or "", rcpt_tos=list(envelope.rcpt_tos)
        )
        try:
            record = await asyncio.to_thread(self.store.add, data)
        except OSError as exc:
            logger.error("could not store a message from <%s>: %s", envelope.mail_from, exc)
            return "451 4.3.0 Could not store the message; try again later"
        logger.info(
            "stored %s from=<%s> recipients=%d size=%d",
            record.id,
            envelope.mail_from,
            len(envelope.rcpt_tos),
            record.size,
        )
        return f"250 2.0.0 Ok: queued as {record.id}"

"""Durable message storage: a Maildir (stdlib `mailbox.Maildir`) plus an in-memory index.

The Maildir is the only state: each message is one file, written to `tmp/`, fsynced, then linked
into `new/` (that is what `Maildir.add` does; we also fsync the directory) before SMTP answers
250. Read status is the standard Maildir `S` flag (`cur/<key>:2,S`), so mail clients such as
mutt see the same thing. The index is rebuilt from the files at start, so a restart loses nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import mailbox
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mailbox_standin.errors import MailboxError
from mailbox_standin.parse import Address, ParsedMail, parse_mail

logger = logging.getLogger(__name__)

_INFO_SEP = ":2,"
_KEY_TIME = re.compile(r"^(\d+)\.M(\d+)P")  # the unique names Maildir.add gives: <sec>.M<usec>P...
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def id_for_key(key: str) -> str:
    """A stable, URL-safe 22-character ID (Mailpit's IDs look alike) derived from the file name."""
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:16], "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


@dataclass
class Record:
    """One stored message: what listing and searching need, without reading the file again."""

    id: str
    key: str
    path: Path
    seq: int
    created: float
    read: bool
    size: int
    subject: str
    message_id: str
    sender: Address
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    attachments: int = 0
    snippet: str = ""
    search_text: str = ""


def _created_of(key: str, path: Path) -> float:
    match = _KEY_TIME.match(key)
    if match:
        return int(match.group(1)) + int(match.group(2)) / 1_000_000
    try:
        return path.stat().st_mtime  # a file some other tool delivered
    except OSError:
        return time.time()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            for sub in ("tmp", "new", "cur"):
                (root / sub).mkdir(exist_ok=True, mode=0o700)
            self._maildir = mailbox.Maildir(root, factory=None, create=True)
        except OSError as exc:
            raise MailboxError(
                f"--maildir {root}: cannot create or open the Maildir: {exc.strerror or exc}"
            ) from exc
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._records: dict[str, Record] = {}
        self._load()

    def _load(self) -> None:
        for sub in ("new", "cur"):
            try:
                entries = sorted(os.scandir(self.root / sub), key=lambda e: e.name)
            except OSError as exc:
                raise MailboxError(f"--maildir {self.root}: cannot read {sub}/: {exc}") from exc
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                key, _, flags = entry.name.partition(_INFO_SEP)
                path = Path(entry.path)
                try:
                    raw = path.read_bytes()
                except OSError as exc:
                    logger.error("cannot read %s, skipped: %s", path, exc)
                    continue
                self._index(key, path, raw, read="S" in flags)
        logger.info("loaded %d messages from %s", len(self._records), self.root)

    def _index(self, key: str, path: Path, raw: bytes, *, read: bool) -> Record:
        mail: ParsedMail = parse_mail(raw)
        record = Record(
            id=id_for_key(key),
            key=key,
            path=path,
            seq=next(self._seq),
            created=_created_of(key, path),
            read=read,
            size=len(raw),
            subject=mail.subject,
            message_id=mail.message_id,
            sender=mail.sender or Address(name="", address=""),
            to=mail.to,
            cc=mail.cc,
            bcc=mail.bcc,
            reply_to=mail.reply_to,
            attachments=len(mail.attachments),
            snippet=mail.snippet,
            search_text=mail.search_text,
        )
        self._records[record.id] = record
        return record

    def add(self, raw: bytes) -> Record:
        """Write the message durably, then index it. Raises OSError if the disk refuses."""
        with self._lock:
            key = self._maildir.add(raw)
            new_dir = self.root / "new"
            _fsync_dir(new_dir)
            return self._index(key, new_dir / key, raw, read=False)

    def newest_first(self) -> list[Record]:
        with self._lock:
            records = list(self._records.values())
        return sorted(records, key=lambda r: (r.created, r.seq), reverse=True)

    def get(self, message_id: str) -> Record | None:
        with self._lock:
            return self._records.get(message_id)

    def raw(self, record: Record) -> bytes | None:
        """The message file as received; None (and forgotten) if someone removed the file."""
        with self._lock:
            try:
                return record.path.read_bytes()
            except FileNotFoundError:
                self._records.pop(record.id, None)
                return None

    def stats(self) -> tuple[int, int]:
        with self._lock:
            total = len(self._records)
            unread = sum(1 for r in self._records.values() if not r.read)
        return total, unread

    def set_read(self, ids: Iterable[str] | None, *, read: bool) -> None:
        """Mark messages (all when `ids` is None) read or unread; unknown IDs are skipped."""
        with self._lock:
            chosen = self._choose(ids)
            for record in chosen:
                if record.read != read:
                    self._set_seen_flag(record, seen=read)

    def _set_seen_flag(self, record: Record, *, seen: bool) -> None:
        _, _, flags = record.path.name.partition(_INFO_SEP)
        wanted = (set(flags) | {"S"}) if seen else (set(flags) - {"S"})
        target = self.root / "cur" / f"{record.key}{_INFO_SEP}{''.join(sorted(wanted))}"
        try:
            os.rename(record.path, target)
        except FileNotFoundError:
            self._records.pop(record.id, None)
            return
        record.path = target
        record.read = seen

    def delete(self, ids: Iterable[str] | None) -> int:
        """Delete the given messages (all when `ids` is None); returns how many were removed."""
        with self._lock:
            chosen = self._choose(ids)
            for record in chosen:
                record.path.unlink(missing_ok=True)
                self._records.pop(record.id, None)
            if chosen:
                for sub in ("new", "cur"):
                    _fsync_dir(self.root / sub)
        if chosen:
            logger.info("deleted %d messages", len(chosen))
        return len(chosen)

    def _choose(self, ids: Iterable[str] | None) -> list[Record]:
        if ids is None:
            return list(self._records.values())
        return [self._records[i] for i in dict.fromkeys(ids) if i in self._records]

    def healthy(self) -> bool:
        return all(os.access(self.root / sub, os.W_OK | os.X_OK) for sub in ("tmp", "new", "cur"))

"""Turn raw message bytes into the fields Mailpit's API shows, without ever raising.

A catcher must never lose mail because it could not read it: every step here falls back to an
empty value, so a message that is garbage still gets listed (with an empty Subject).
"""

from __future__ import annotations

import email.utils
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser

logger = logging.getLogger(__name__)

SNIPPET_LIMIT = 200  # Mailpit's CreateSnippet cuts at 200 and appends "..."
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1",
     "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
     "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})
_CLEAN_RE = re.compile(r'[\r\n\t<>",;()\ufeff]')


@dataclass(frozen=True)
class Address:
    name: str
    address: str

    def as_json(self) -> dict[str, str]:
        return {"Name": self.name, "Address": self.address}


@dataclass(frozen=True)
class Attachment:
    part_id: str
    file_name: str
    content_type: str
    content_id: str
    size: int

    def as_json(self) -> dict[str, object]:
        return {
            "PartID": self.part_id,
            "FileName": self.file_name,
            "ContentType": self.content_type,
            "ContentID": self.content_id,
            "Size": self.size,
        }


@dataclass
class ParsedMail:
    message_id: str = ""
    sender: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    subject: str = ""
    return_path: str = ""
    date: datetime | None = None
    text: str = ""
    html: str = ""
    inline: list[Attachment] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def snippet(self) -> str:
        source = html_to_text(self.html) if self.html.strip() else self.text
        flat = " ".join(source.replace("\ufeff", " ").split())
        return flat if len(flat) <= SNIPPET_LIMIT else flat[:SNIPPET_LIMIT] + "..."

    @property
    def search_text(self) -> str:
        """What plain search words match against: Mailpit's createSearchText, in our words."""
        parts = [self.headers.get(name, "") for name in _SEARCH_HEADERS]
        parts.append(html_to_text(self.html) if self.html.strip() else self.text)
        parts.extend(a.file_name for a in self.attachments)
        return clean(" ".join(parts))


_SEARCH_HEADERS = ("from", "subject", "to", "cc", "bcc", "reply-to", "return-path")
_KEPT_HEADERS = (
    *_SEARCH_HEADERS,
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
)


def clean(value: str) -> str:
    """Lower-case, drop address punctuation and collapse whitespace (both sides of a match)."""
    return " ".join(_CLEAN_RE.sub(" ", value).split()).lower()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # a broken document still yields whatever text was read
        logger.debug("html to text stopped early", exc_info=True)
    lines = (" ".join(line.split()) for line in "".join(extractor.chunks).splitlines())
    return "\n".join(line for line in lines if line)


def parse_mail(raw: bytes) -> ParsedMail:
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception:
        logger.warning("message could not be parsed; stored as is", exc_info=True)
        return ParsedMail()
    mail = ParsedMail()
    for name in _KEPT_HEADERS:
        mail.headers[name] = _header(msg, name)
    mail.subject = mail.headers["subject"]
    mail.message_id = mail.headers["message-id"].strip().strip("<>")
    senders = _addresses(msg, "from")
    if senders:
        mail.sender = senders[0]
    elif mail.headers["from"]:
        mail.sender = Address(name=mail.headers["from"], address="")
    mail.to = _addresses(msg, "to")
    mail.cc = _addresses(msg, "cc")
    mail.bcc = _addresses(msg, "bcc")
    mail.reply_to = _addresses(msg, "reply-to")
    mail.return_path = mail.headers["return-path"].strip().strip("<>")
    if not mail.return_path and mail.sender:
        mail.return_path = mail.sender.address
    mail.date = _date(msg)
    try:
        _walk(msg, [], mail)
    except Exception:
        logger.warning("message body could not be fully read", exc_info=True)
    if not mail.text and mail.html:
        mail.text = html_to_text(mail.html)
    return mail


def _header(msg: Message, name: str) -> str:
    try:
        values = msg.get_all(name)
    except Exception:
        return ""
    if not values:
        return ""
    try:
        return " ".join(str(values[0]).split())
    except Exception:
        return ""


def _addresses(msg: Message, name: str) -> list[Address]:
    try:
        values = [str(v) for v in msg.get_all(name) or []]
        pairs = email.utils.getaddresses(values)
    except Exception:
        return []
    return [Address(name=n, address=a) for n, a in pairs if n or a]


def _date(msg: Message) -> datetime | None:
    try:
        value = msg.get("date")
        return email.utils.parsedate_to_datetime(str(value)) if value else None
    except Exception:
        return None


def _walk(part: Message, path: list[int], mail: ParsedMail) -> None:
    ctype = part.get_content_type()
    if part.is_multipart() and ctype != "message/rfc822":
        payload = part.get_payload()
        if isinstance(payload, list):
            for index, sub in enumerate(payload, start=1):
                _walk(sub, [*path, index], mail)
        return
    disposition = part.get_content_disposition()
    file_name = _safe(part.get_filename) or ""
    content_id = str(part.get("content-id", "") or "").strip().strip("<>")
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not file_name:
        body = _text_of(part)
        if ctype == "text/plain" and not mail.text:
            mail.text = body
        elif ctype == "text/html" and not mail.html:
            mail.html = body
        return
    if not file_name and not content_id:
        return  # Mailpit lists only parts that have a file name or a content ID
    summary = Attachment(
        part_id=".".join(str(i) for i in path) or "1",
        file_name=file_name or content_id,
        content_type=ctype,
        content_id=content_id,
        size=len(_bytes_of(part)),
    )
    if disposition == "inline" or (disposition is None and content_id):
        mail.inline.append(summary)
    else:
        mail.attachments.append(summary)


def _safe(getter: object) -> str | None:
    try:
        value = getter() if callable(getter) else None
    except Exception:
        return None
    return str(value) if value is not None else None


def _text_of(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
            if isinstance(content, str):
                return content
        except Exception:
            logger.debug("falling back to raw payload for an unreadable text part", exc_info=True)
    charset = part.get_content_charset() or "utf-8"
    data = _bytes_of(part)
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _bytes_of(part: Message) -> bytes:
    try:
        if part.get_content_type() == "message/rfc822":
            return part.as_bytes()
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""

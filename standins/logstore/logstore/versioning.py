"""Optimistic concurrency control: `if_seq_no` + `if_primary_term`, and external versions
(`version` with `version_type` external / external_gte).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/optimistic-concurrency-control.html
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-index_.html#index-versioning

A condition is checked by the engine under the index's write lock, against the document as
stored (`Stored`, a tombstone for a deleted one), so that nothing writes in between. Logstore
has one primary, whose term is always 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ESError, doc_error, validation_failed

PRIMARY_TERM = 1
_TYPES = ("internal", "external", "external_gte")


def conflict(index: Any, doc_id: str, reason: str) -> ESError:
    return doc_error(
        index, 409, "version_conflict_engine_exception", f"[{doc_id}]: version conflict, {reason}"
    )


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Failed to parse int parameter [{name}] with value [{value}]",
        ) from None


@dataclass(frozen=True)
class Condition:
    version: int | None = None
    version_type: str = "internal"
    if_seq_no: int | None = None
    if_primary_term: int | None = None

    @property
    def empty(self) -> bool:
        return self.version is None and self.if_seq_no is None

    def for_write(self, index: Any, doc_id: str) -> Callable[[Any], int]:
        """The engine's check for an index, create or delete of `doc_id` in `index`."""

        def check(found: Any) -> int:
            live = found is not None and found.source is not None
            if self.if_seq_no is not None:
                if not live:
                    raise conflict(
                        index,
                        doc_id,
                        f"required seqNo [{self.if_seq_no}], primary term "
                        f"[{self.if_primary_term}]. but no document was found",
                    )
                if found.seq != self.if_seq_no or self.if_primary_term != PRIMARY_TERM:
                    raise conflict(
                        index,
                        doc_id,
                        f"required seqNo [{self.if_seq_no}], primary term "
                        f"[{self.if_primary_term}]. current document has seqNo [{found.seq}] "
                        f"and primary term [{PRIMARY_TERM}]",
                    )
            if self.version is not None and self.version_type != "internal":
                if found is not None:
                    current = found.version
                    if self.version_type == "external" and current >= self.version:
                        raise conflict(
                            index,
                            doc_id,
                            f"current version [{current}] is higher or equal to the one "
                            f"provided [{self.version}]",
                        )
                    if self.version_type == "external_gte" and current > self.version:
                        raise conflict(
                            index,
                            doc_id,
                            f"current version [{current}] is higher than the one provided "
                            f"[{self.version}]",
                        )
                return self.version
            return (found.version if found is not None else 0) + 1

        return check

    def check_read(self, index: Any, doc_id: str, version: int) -> None:
        """A get with `version`: every version type conflicts on a different version."""
        if self.version is not None and version != self.version:
            raise conflict(
                index,
                doc_id,
                f"current version [{version}] is different than the one provided [{self.version}]",
            )


def condition(params: Mapping[str, Any], *, action: str, underscored: bool = False) -> Condition:
    """The versioning of a request (its query parameters, or a bulk item's metadata). ES's
    validation: create takes internal versioning only, internal versioning takes no
    `version` on a write (if_seq_no instead), if_seq_no needs if_primary_term."""
    prefix = "_" if underscored else ""
    raw_version = params.get(prefix + "version")
    version_type = str(params.get(prefix + "version_type") or "internal")
    if version_type not in _TYPES:
        if version_type == "force":
            raise ESError(
                400, "illegal_argument_exception", "version type [force] may no longer be used"
            )
        raise ESError(400, "illegal_argument_exception", f"No version type match [{version_type}]")
    version = None if raw_version is None else _int(raw_version, "version")
    seq_raw, term_raw = params.get("if_seq_no"), params.get("if_primary_term")
    if_seq_no = None if seq_raw is None else _int(seq_raw, "if_seq_no")
    if_term = None if term_raw is None else _int(term_raw, "if_primary_term")
    if action == "create" and version_type != "internal":
        raise validation_failed(
            "create operations only support internal versioning. use index instead"
        )
    if action == "create" and if_seq_no is not None:
        raise validation_failed(
            "create operations do not support compare and set. use index instead"
        )
    if action != "read":
        if version is not None and version_type == "internal":
            raise validation_failed(
                "internal versioning can not be used for optimistic concurrency control. "
                "Please use `if_seq_no` and `if_primary_term` instead"
            )
        if version_type != "internal" and version is None:
            raise validation_failed(
                f"illegal version value [-3] for version type [{version_type.upper()}]"
            )
        if version is not None and version < 0:
            raise validation_failed(
                f"illegal version value [{version}] for version type [{version_type.upper()}]"
            )
        if if_seq_no is not None and version_type != "internal":
            raise validation_failed("compare and write operations can not use versioning")
    if if_seq_no is not None and if_seq_no < 0:
        raise validation_failed(f"ifSeqNo must be non negative. got [{if_seq_no}]")
    if (if_seq_no is None) != (if_term is None):
        if if_seq_no is not None:
            raise validation_failed("ifSeqNo is set, but primary term is [0]")
        raise validation_failed("ifPrimaryTerm is set, but seqNo is [-2]")
    return Condition(version, version_type, if_seq_no, if_term)

"""Custom routing: which of an index's (declared) shards a document lives on.

Logstore keeps every index in one place, but a document keeps the `routing` it was written
with (`_routing`), and a get finds it only where Elasticsearch would: when the get's routing
(or the `_id`) leads to the shard the document's routing (or `_id`) led to. With one shard,
the default, that is always. ES's rule (IndexRouting): murmur3 (x86, 32 bits, seed 0) of the
routing's UTF-16 code units, little-endian, floor-mod the routing shards, divided by the
routing factor.
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/mapping-routing-field.html
"""

from __future__ import annotations

from typing import Any

_M = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3_x86_32 as a signed 32-bit int (Java's)."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & _M
    tail_at = len(data) - len(data) % 4
    for i in range(0, tail_at, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = _rotl((k * c1) & _M, 15) * c2 & _M
        h = (_rotl(h ^ k, 13) * 5 + 0xE6546B64) & _M
    k = 0
    tail = data[tail_at:]
    for shift, byte in enumerate(tail):
        k |= byte << (8 * shift)
    if tail:
        h ^= _rotl((k * c1) & _M, 15) * c2 & _M
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def _routing_hash(value: str) -> int:
    units = value.encode("utf-16-le")  # Java chars, low byte first
    return murmur3_32(units)


def _int_setting(settings: dict[str, Any], key: str, default: int) -> int:
    try:
        return int(settings.get(key, default))
    except (TypeError, ValueError):
        return default


def shard_of(settings: dict[str, Any], effective_routing: str) -> int:
    shards = max(1, _int_setting(settings, "index.number_of_shards", 1))
    if shards == 1:
        return 0
    # ES 7+'s default number of routing shards: the largest shards * 2^n <= 1024 (n >= 1).
    log2_shards = (shards - 1).bit_length()
    default_routing = shards << max(1, 10 - log2_shards)
    routing_shards = _int_setting(settings, "index.number_of_routing_shards", default_routing)
    factor = max(1, routing_shards // shards)
    return (_routing_hash(effective_routing) % routing_shards) // factor


def reaches(
    settings: dict[str, Any], doc_id: str, stored: str | None, requested: str | None
) -> bool:
    """Whether a read with routing `requested` reaches the shard of a document stored with
    routing `stored`."""
    if stored == requested:
        return True
    if _int_setting(settings, "index.number_of_shards", 1) <= 1:
        return True
    here = shard_of(settings, stored if stored is not None else doc_id)
    return here == shard_of(settings, requested if requested is not None else doc_id)

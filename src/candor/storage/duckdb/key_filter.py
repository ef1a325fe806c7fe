"""Which Idempotency-Keys the DuckDB store may hold: a Bloom filter in front of the keys table.

A commit must tell a retry (a key held within the window) from a fresh key. A primary key on
the table did that, but DuckDB keeps such an index in memory, about 90 bytes a key, and cannot
evict it: measured here, a store limited to 96 MB failed every commit once it held ~900,000
keys, one day of a busy CLI's deliveries. This filter costs 2.5 to 5 bytes a key. A key it does
not rule out (a retry, or at most one fresh key in 5,000) is looked up in the table by a scan
(~2 ms among a million keys); every other key costs a microsecond or two.

The filter is split in slices of at most SLICE_KEYS keys, each a Bloom filter of its own for
the keys whose hash falls in it. DuckDB builds it from the table's `key_hash` column one slice
at a time (`slice_sql`), in a few megabytes of its memory whatever the number of keys (0.8 s
for a million keys, 3.5 s for four), so nothing needs saving: the collector builds it as it
starts (any other writer on its first keyed commit), and again when it is full.
"""

from __future__ import annotations

import hashlib

BITS_PER_KEY = 20
PROBES = 7  # bit positions a key sets: about 1 false "maybe" in 5,000 keys when full, 1 in
# 370,000 when half full (20 bits a key; 10 probes would only bring 1 in 11,000 when full)
MIN_CAPACITY = 1 << 16  # keys; 160 KB of bits
SLICE_KEYS = 1 << 18  # keys a slice is made for: 640 KB of bits

# `key_hash` in SQL, for a VARCHAR column `key`: the same 64 bits (MD5's first eight bytes,
# big-endian), computed with functions every DuckDB version has. For stores that predate the
# column; new keys are hashed in Python.
HASH_SQL = "('0x' || md5(key)[1:16])::UBIGINT"


def key_hash(key: str) -> int:
    """64 bits of the key's MD5 (a spread, not a secret): what HASH_SQL computes in DuckDB."""
    return int.from_bytes(hashlib.md5(key.encode()).digest()[:8], "big")


def capacity_for(keys: int) -> int:
    """The capacity to build for `keys` live keys: room for as many again, a power of two."""
    capacity = MIN_CAPACITY
    while capacity < 2 * keys:
        capacity *= 2
    return capacity


class KeyFilter:
    """A Bloom filter over key hashes, for up to `capacity` keys at its designed error rate.

    A hash's upper 32 bits choose its slice (their top bits) and the first probe; its lower 32
    bits, made odd, are the step between probes (double hashing).
    """

    __slots__ = ("_bits", "_slice_bits", "_slices", "capacity", "count")

    def __init__(self, capacity: int, count: int = 0) -> None:
        if capacity < MIN_CAPACITY or capacity & (capacity - 1):
            raise ValueError(f"capacity {capacity}: a power of two from {MIN_CAPACITY}")
        self.capacity = capacity
        self.count = count  # keys built in or added (an upper bound on the distinct ones)
        self._slices = max(1, capacity // SLICE_KEYS)
        self._slice_bits = capacity // self._slices * BITS_PER_KEY
        self._bits = bytearray(capacity * BITS_PER_KEY // 8)

    @property
    def full(self) -> bool:
        return self.count >= self.capacity

    @property
    def slices(self) -> int:
        return self._slices

    def slice_sql(self, table: str, number: int) -> str:
        """A query over `table` (columns key_hash, created_at; parameter $1: the oldest
        created_at to include) whose one value is slice `number`'s bits as a BLOB, or NULL
        when no key falls in it."""
        size = self._slice_bits
        return (
            f"SELECT bitstring_agg((first + probe * step) % {size}, 0, {size - 1})::BLOB "
            f"FROM (SELECT key_hash >> 32 AS first, (key_hash & 4294967295) | 1 AS step "
            f"FROM {table} WHERE created_at >= $1 "
            f"AND (key_hash >> 32) * {self._slices} >> 32 = {number}), "
            f"range({PROBES}) AS probes(probe)"
        )

    def set_slice(self, number: int, bits: bytes | None) -> None:
        """Load slice `number` from what its `slice_sql` returned."""
        if bits is None:
            return
        length = self._slice_bits // 8
        if len(bits) != length:
            raise ValueError(f"{len(bits)} bytes for a slice of {length}")
        self._bits[number * length : (number + 1) * length] = bits

    def may_hold(self, hashed: int) -> bool:
        """False: the key was never added. True: it may have been."""
        bits, size = self._bits, self._slice_bits
        first = hashed >> 32
        offset = (first * self._slices >> 32) * size
        at, step = first % size, ((hashed & 0xFFFFFFFF) | 1) % size
        for _ in range(PROBES):  # most fresh keys stop at the first or second probe
            bit = offset + at
            if not bits[bit >> 3] & (0x80 >> (bit & 7)):
                return False
            at += step  # (first + probe * step) % size, one probe after the other
            if at >= size:
                at -= size
        return True

    def add(self, hashed: int) -> None:
        bits, size = self._bits, self._slice_bits
        first = hashed >> 32
        offset = (first * self._slices >> 32) * size
        at, step = first % size, ((hashed & 0xFFFFFFFF) | 1) % size
        for _ in range(PROBES):
            bit = offset + at
            bits[bit >> 3] |= 0x80 >> (bit & 7)  # bit 0 is the first byte's highest, as in SQL
            at += step
            if at >= size:
                at -= size
        self.count += 1

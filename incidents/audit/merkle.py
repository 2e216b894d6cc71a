"""RFC 6962 Merkle tree hashing, the right frontier for O(log n) appends, and proofs.

Leaves are SHA-256(0x00 || data), interior nodes SHA-256(0x01 || left || right), and the
tree of n leaves splits at the largest power of two below n (RFC 6962 §2.1). Proof
verification follows RFC 9162 §2.1.3.2 and §2.1.4.2, so that it accepts exactly the
proofs of RFC 6962's PATH and PROOF. Nothing here knows about databases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


# -- the right frontier -------------------------------------------------------------------


def frontier_append(frontier: list[bytes], size: int, leaf: bytes) -> None:
    """Append `leaf` to a tree of `size` leaves whose frontier is `frontier` (in place).

    The frontier holds the roots of the perfect subtrees the tree splits into, largest
    (leftmost) first: one per set bit of `size`. An append merges equal-sized subtrees
    like a binary counter carries, so it costs at most log2(size) hashes.
    """
    node = leaf
    while size & 1:
        node = node_hash(frontier.pop(), node)
        size >>= 1
    frontier.append(node)


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree whose frontier is `frontier` (MTH of all its leaves)."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = node_hash(subtree, root)
    return root


def pack_frontier(frontier: Sequence[bytes]) -> bytes:
    return b"".join(frontier)


def unpack_frontier(packed: bytes, size: int) -> list[bytes]:
    """The frontier stored as concatenated hashes; its length must match `size`."""
    if len(packed) != HASH_SIZE * size.bit_count():
        raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier hashes")
    return [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]


# -- subtree hashes and proofs over a list of leaf hashes --------------------------------


class LeafHashes:
    """Leaf hashes held compactly (32 bytes each), with RFC 6962 subtree hashing."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def append(self, leaf: bytes) -> None:
        self._buffer += leaf

    def __len__(self) -> int:
        return len(self._buffer) // HASH_SIZE

    def __getitem__(self, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._buffer[start : start + HASH_SIZE])

    def subtree_root(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end), iteratively: a frontier over the range."""
        if end <= start:
            return EMPTY_ROOT
        frontier: list[bytes] = []
        for size, index in enumerate(range(start, end)):
            frontier_append(frontier, size, self[index])
        return frontier_root(frontier)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 6962 §2.1.1, leaf to root order."""
        if not 0 <= index < size <= len(self):
            raise ValueError(f"no leaf {index} in a tree of {size}")
        return self._path(index, 0, size)

    def _path(self, index: int, start: int, end: int) -> list[bytes]:
        if end - start == 1:
            return []
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            return [*self._path(index, start, start + k), self.subtree_root(start + k, end)]
        return [*self._path(index, start + k, end), self.subtree_root(start, start + k)]

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) of RFC 6962 §2.1.2."""
        if not 0 < old_size <= new_size <= len(self):
            raise ValueError(f"no consistency proof from {old_size} to {new_size}")
        if old_size == new_size:
            return []
        return self._subproof(old_size, 0, new_size, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self.subtree_root(start, end)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return [
                *self._subproof(m, start, start + k, complete),
                self.subtree_root(start + k, end),
            ]
        return [*self._subproof(m - k, start + k, end, False), self.subtree_root(start, start + k)]


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) --------------------------------------


def _are_hashes(*hashes: bytes) -> bool:
    """Every value is a SHA-256 hash: an empty or short value is never a node of a tree."""
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` leads to from `leaf` at `index`; ValueError for a malformed proof."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size}")
    if not _are_hashes(leaf, *proof):
        raise ValueError(f"the leaf and every hash of the proof must be {HASH_SIZE} bytes")
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            raise ValueError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the inclusion proof is shorter than the tree is deep")
    return result


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    try:
        return _are_hashes(root) and root_from_inclusion_proof(index, size, leaf, proof) == root
    except ValueError:
        return False


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True when the tree of `new_size` leaves with `new_root` extends the old one."""
    if not 0 < old_size <= new_size or not _are_hashes(old_root, new_root, *proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root

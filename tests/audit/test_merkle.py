"""The Merkle tree code against the independent RFC 6962 reference in tests/audit/rfc6962.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.audit import merkle
from tests.audit import rfc6962


def _data(n: int) -> list[bytes]:
    return [f"event {i}".encode() for i in range(n)]


def _leaves(data: list[bytes]) -> merkle.LeafHashes:
    leaves = merkle.LeafHashes()
    for item in data:
        leaves.append(merkle.leaf_hash(item))
    return leaves


def test_the_empty_tree_and_one_leaf() -> None:
    assert merkle.frontier_root([]) == rfc6962.mth([])
    assert merkle.leaf_hash(b"x") == rfc6962.mth([b"x"])


@pytest.mark.parametrize("n", range(1, 70))
def test_frontier_appends_give_the_rfc_root_at_every_size(n: int) -> None:
    data = _data(n)
    frontier: list[bytes] = []
    for size, item in enumerate(data):
        merkle.frontier_append(frontier, size, merkle.leaf_hash(item))
        assert len(frontier) == (size + 1).bit_count()
        assert merkle.frontier_root(frontier) == rfc6962.mth(data[: size + 1])
    packed = merkle.pack_frontier(frontier)
    assert merkle.unpack_frontier(packed, n) == frontier


def test_a_frontier_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="frontier"):
        merkle.unpack_frontier(b"\x00" * 32, 3)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33])
def test_inclusion_proofs_match_path_and_verify(n: int) -> None:
    data = _data(n)
    leaves = _leaves(data)
    root = rfc6962.mth(data)
    for m in range(n):
        ours = leaves.inclusion_proof(m, n)
        assert ours == rfc6962.path(m, data), f"PATH({m}, D[{n}])"
        leaf = merkle.leaf_hash(data[m])
        assert merkle.verify_inclusion(m, n, leaf, ours, root)
        assert not merkle.verify_inclusion(m, n, merkle.leaf_hash(b"forged"), ours, root)
        if n > 1:
            assert not merkle.verify_inclusion((m + 1) % n, n, leaf, ours, root)
            assert not merkle.verify_inclusion(m, n, leaf, ours[:-1], root)
        assert not merkle.verify_inclusion(m, n, leaf, [*ours, root], root)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 32, 33])
def test_consistency_proofs_match_proof_and_verify(n: int) -> None:
    data = _data(n)
    leaves = _leaves(data)
    new_root = rfc6962.mth(data)
    for m in range(1, n + 1):
        ours = leaves.consistency_proof(m, n)
        assert ours == rfc6962.proof(m, data), f"PROOF({m}, D[{n}])"
        old_root = rfc6962.mth(data[:m])
        assert merkle.verify_consistency(m, n, old_root, new_root, ours)
        assert not merkle.verify_consistency(m, n, rfc6962.mth([b"other"]), new_root, ours)
        if m < n:
            assert not merkle.verify_consistency(m, n, old_root, rfc6962.mth(data[:-1]), ours)
            assert not merkle.verify_consistency(m, n, old_root, new_root, [])


def test_a_rewritten_history_has_no_consistency_proof() -> None:
    old = _data(6)
    new = [*old[:2], b"rewritten", *old[3:], *_data(10)[6:]]
    leaves = _leaves(new)
    proof = leaves.consistency_proof(6, 10)
    assert not merkle.verify_consistency(6, 10, rfc6962.mth(old), rfc6962.mth(new), proof)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_random_sizes_agree_with_the_reference(n: int, draw: st.DataObject) -> None:
    data = _data(n)
    leaves = _leaves(data)
    assert leaves.subtree_root(0, n) == rfc6962.mth(data)
    m = draw.draw(st.integers(min_value=0, max_value=n - 1))
    assert leaves.inclusion_proof(m, n) == rfc6962.path(m, data)
    old = draw.draw(st.integers(min_value=1, max_value=n))
    proof = leaves.consistency_proof(old, n)
    assert proof == rfc6962.proof(old, data)
    assert merkle.verify_consistency(old, n, rfc6962.mth(data[:old]), rfc6962.mth(data), proof)

"""The Merkle tree: the same root as RFC 6962's recursive definition, and proofs that verify for every
leaf and for nothing else."""

from __future__ import annotations

import hashlib

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cylinder_trace.domain.merkle import (
    EMPTY_ROOT,
    InclusionProof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    proves_inclusion,
)

leaves = st.lists(st.binary(max_size=40), min_size=1, max_size=70)


def rfc6962_root(data: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 6962 §2.1 writes it."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n
    return hashlib.sha256(b"\x01" + rfc6962_root(data[:k]) + rfc6962_root(data[k:])).digest()


def rfc6962_path(m: int, data: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) exactly as RFC 6962 §2.1.1 writes it."""
    n = len(data)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*rfc6962_path(m, data[:k]), rfc6962_root(data[k:])]
    return [*rfc6962_path(m - k, data[k:]), rfc6962_root(data[:k])]


def test_the_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    # RFC 6962's test vector: the tree of the one empty leaf
    assert merkle_root([leaf_hash(b"")]).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


@given(leaves)
def test_the_root_is_rfc6962s(data: list[bytes]) -> None:
    assert merkle_root([leaf_hash(d) for d in data]) == rfc6962_root(data)


@settings(max_examples=60, deadline=None)
@given(leaves)
def test_every_leafs_proof_is_rfc6962s_and_verifies(data: list[bytes]) -> None:
    hashed = [leaf_hash(d) for d in data]
    for i, leaf in enumerate(hashed):
        root, proof = inclusion_proof(hashed, i)
        assert root == rfc6962_root(data)
        assert list(proof.path) == rfc6962_path(i, data)
        assert proves_inclusion(leaf, proof, root)


@given(leaves, st.data())
def test_a_changed_leaf_fails(data: list[bytes], draw: st.DataObject) -> None:
    hashed = [leaf_hash(d) for d in data]
    i = draw.draw(st.integers(0, len(data) - 1))
    root, proof = inclusion_proof(hashed, i)
    other = draw.draw(st.binary(max_size=40))
    assume(other != data[i])
    assert not proves_inclusion(leaf_hash(other), proof, root)


@given(leaves, st.data())
def test_a_changed_root_fails(data: list[bytes], draw: st.DataObject) -> None:
    hashed = [leaf_hash(d) for d in data]
    i = draw.draw(st.integers(0, len(data) - 1))
    root, proof = inclusion_proof(hashed, i)
    bit = draw.draw(st.integers(0, 255))
    flipped = (int.from_bytes(root, "big") ^ (1 << bit)).to_bytes(32, "big")
    assert not proves_inclusion(hashed[i], proof, flipped)


@given(st.lists(st.binary(max_size=40), min_size=2, max_size=70), st.data())
def test_a_changed_proof_fails(data: list[bytes], draw: st.DataObject) -> None:
    """Any hash of the path flipped, one dropped or added, another index or another tree size."""
    hashed = [leaf_hash(d) for d in data]
    n = len(data)
    i = draw.draw(st.integers(0, n - 1))
    root, proof = inclusion_proof(hashed, i)
    path = list(proof.path)
    j = draw.draw(st.integers(0, len(path) - 1))
    bit = draw.draw(st.integers(0, 255))
    flipped = [*path[:j], (int.from_bytes(path[j], "big") ^ (1 << bit)).to_bytes(32, "big"), *path[j + 1:]]
    assert not proves_inclusion(hashed[i], InclusionProof(i, n, tuple(flipped)), root)
    assert not proves_inclusion(hashed[i], InclusionProof(i, n, tuple(path[:-1])), root)
    assert not proves_inclusion(hashed[i], InclusionProof(i, n, (*path, root)), root)
    other = draw.draw(st.integers(0, n - 1))
    assume(hashed[other] != hashed[i])
    assert not proves_inclusion(hashed[i], InclusionProof(other, n, proof.path), root)


def test_an_index_outside_the_tree_has_no_proof() -> None:
    hashed = [leaf_hash(b"a"), leaf_hash(b"b")]
    root, proof = inclusion_proof(hashed, 1)
    assert not proves_inclusion(hashed[1], InclusionProof(2, 2, proof.path), root)
    assert not proves_inclusion(hashed[1], InclusionProof(-1, 2, proof.path), root)

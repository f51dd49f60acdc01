"""A Merkle tree with inclusion proofs, hashed as RFC 6962 / RFC 9162 (Certificate Transparency) hash it.

* a leaf's hash is ``SHA-256(0x00 || leaf bytes)``; an interior node's is ``SHA-256(0x01 || left || right)``
  (the prefixes keep a leaf from ever passing for a node);
* the tree over ``n`` leaves splits at the largest power of two below ``n``: the left subtree is full, the
  right one holds the rest; the tree of no leaves has the root ``SHA-256("")``.

Built bottom-up, pairing neighbours and carrying an odd last node up a level unchanged, which makes
exactly that tree in linear time. An inclusion proof is the list of sibling hashes from the leaf up to
the root (RFC 9162 §2.1.3.1); checking it needs only the leaf's hash, its index and the tree size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"
#: the root of the tree of no leaves
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _parent_level(level: Sequence[bytes]) -> list[bytes]:
    sha256 = hashlib.sha256
    parents = [sha256(NODE_PREFIX + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        parents.append(level[-1])
    return parents


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The root over leaves already hashed with :func:`leaf_hash`, in their order."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        level = _parent_level(level)
    return level[0]


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Leaf ``index`` of a tree of ``tree_size`` leaves: the sibling hashes from the leaf upwards."""

    index: int
    tree_size: int
    path: tuple[bytes, ...]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> tuple[bytes, InclusionProof]:
    """The root and the inclusion proof of leaf ``index``, in one linear pass."""
    if not 0 <= index < len(leaf_hashes):
        raise IndexError(f"leaf {index} of a tree of {len(leaf_hashes)} leaves")
    level = list(leaf_hashes)
    path: list[bytes] = []
    at = index
    while len(level) > 1:
        sibling = at ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        level = _parent_level(level)
        at //= 2
    return level[0], InclusionProof(index, len(leaf_hashes), tuple(path))


class MalformedProof(ValueError):
    """A proof whose shape does not fit its tree (wrong length, index outside the tree)."""


def root_from_proof(leaf: bytes, proof: InclusionProof) -> bytes:
    """The root ``proof`` leads to from the leaf hash ``leaf`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= proof.index < proof.tree_size:
        raise MalformedProof(f"leaf index {proof.index} is outside a tree of {proof.tree_size} leaves")
    fn, sn, r = proof.index, proof.tree_size - 1, leaf
    for p in proof.path:
        if sn == 0:
            raise MalformedProof("the proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MalformedProof("the proof is shorter than the tree is high")
    return r


def proves_inclusion(leaf: bytes, proof: InclusionProof, root: bytes) -> bool:
    try:
        return root_from_proof(leaf, proof) == root
    except MalformedProof:
        return False

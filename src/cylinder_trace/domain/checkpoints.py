"""Checkpoints: a signed Merkle root over the head of every stream, and the file that proves one
stream's history is included in it, unchanged. The format and the hashing: ``docs/checkpoints.md``.

* a **leaf** is the canonical JSON (as the hash chain's) of ``{"hash", "stream_id", "version"}`` — a
  stream's head — and the leaves are ordered by stream id (Unicode code points, the order of their UTF-8
  bytes), one per stream; the tree is :mod:`.merkle`'s (RFC 6962 hashing);
* the **statement** says which tree: ``{"format", "jurisdiction", "sequence", "taken_at", "position",
  "tree_size", "root"}`` (``position``: the newest event the tree covers, by global position); its
  canonical JSON is signed with Ed25519;
* a **proof file** holds the signed checkpoint, one stream's events up to the version in the tree, the
  leaf and its inclusion proof; :func:`verify_proof_document` checks it with nothing but a public key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical import canonical_bytes
from .chain import ChainLink, check_chain
from .merkle import InclusionProof, MalformedProof, leaf_hash, merkle_root, root_from_proof

CHECKPOINT_STREAM: Final = "checkpoints"
CHECKPOINT_TAKEN: Final = "CheckpointTaken"
STATEMENT_FORMAT: Final = "cylinder-trace/checkpoint/1"
PROOF_FORMAT: Final = "cylinder-trace/checkpoint-proof/1"
SIGNATURE_ALGORITHM: Final = "Ed25519"


@dataclass(frozen=True, slots=True)
class StreamLeaf:
    """A stream's head (its id, version and newest hash): its leaf in a checkpoint's tree."""

    stream_id: str
    version: int
    hash: str

    def leaf(self) -> bytes:
        return canonical_bytes(self.to_json())

    def to_json(self) -> dict[str, Any]:
        return {"hash": self.hash, "stream_id": self.stream_id, "version": self.version}


def leaf_hashes(heads: Sequence[StreamLeaf]) -> list[bytes]:
    """The leaves' hashes in tree order; ``heads`` must be sorted by stream id, one per stream."""
    for before, after in pairwise(heads):
        if not before.stream_id < after.stream_id:
            raise ValueError(f"stream heads out of order: {before.stream_id!r} before {after.stream_id!r}")
    return [leaf_hash(h.leaf()) for h in heads]


def heads_root(heads: Sequence[StreamLeaf]) -> bytes:
    return merkle_root(leaf_hashes(heads))


def statement(*, jurisdiction: str, sequence: int, taken_at: str, position: int, tree_size: int,
              root: bytes) -> dict[str, Any]:
    """What a checkpoint signs."""
    return {"format": STATEMENT_FORMAT, "jurisdiction": jurisdiction, "sequence": sequence, "taken_at": taken_at,
            "position": position, "tree_size": tree_size, "root": root.hex()}


# -- keys and signatures ------------------------------------------------------------------------------

def signing_key(seed_hex: str) -> Ed25519PrivateKey:
    """The private key from its 32-byte seed written as 64 hex digits (``CT_CHECKPOINT_SIGNING_KEY``)."""
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))


def new_signing_key() -> tuple[str, str]:
    """A fresh key: (private seed, public key), both as hex."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    return seed.hex(), public_key_hex(key)


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def sign(body: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signed checkpoint: the statement, its signature and the public key to check it with."""
    return {"statement": dict(body), "signature_algorithm": SIGNATURE_ALGORITHM,
            "signature": key.sign(canonical_bytes(body)).hex(), "public_key": public_key_hex(key)}


def signature_valid(body: Mapping[str, Any], signature_hex: str, public_key: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(bytes.fromhex(signature_hex), canonical_bytes(body))
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_public_key(text: str) -> bytes:
    """A public key given as 64 hex digits (the raw key, as the API serves it) or as PEM."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (64 hex digits)")
    return raw


# -- the proof file -----------------------------------------------------------------------------------

def proof_document(signed: Mapping[str, Any], stream_id: str, events: Sequence[Mapping[str, Any]],
                   head: StreamLeaf, proof: InclusionProof) -> dict[str, Any]:
    """One stream's history with its inclusion proof against a signed checkpoint."""
    return {
        "format": PROOF_FORMAT,
        "checkpoint": dict(signed),
        "stream_id": stream_id,
        "events": list(events),
        "leaf": head.to_json(),
        "proof": {"leaf_index": proof.index, "tree_size": proof.tree_size, "path": [p.hex() for p in proof.path]},
    }


class ProofFileError(ValueError):
    """The file is not a proof file this verifier can read; the message names the field."""


def _get(obj: Any, path: str, kind: type | tuple[type, ...]) -> Any:
    value = obj
    for name in path.split("."):
        if not isinstance(value, Mapping) or name not in value:
            raise ProofFileError(f"{path}: missing")
        value = value[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProofFileError(f"{path}: not a {getattr(kind, '__name__', kind)}")
    return value


def _hex(obj: Any, path: str, length: int) -> bytes:
    return _hex_value(_get(obj, path, str), path, length)


def _hex_value(text: Any, path: str, length: int) -> bytes:
    if not isinstance(text, str):
        raise ProofFileError(f"{path}: not a str")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ProofFileError(f"{path}: not hex") from None
    if len(raw) != length:
        raise ProofFileError(f"{path}: {len(raw)} bytes, expected {length}")
    return raw


@dataclass
class ProofVerdict:
    """What the verifier found: ``problems`` make it fail, ``notes`` only inform."""

    stream_id: str
    sequence: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    head: StreamLeaf | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_proof_document(doc: Any, trusted_key: bytes | None = None,
                          kept_checkpoint: Any = None) -> ProofVerdict:
    """Check offline that ``doc``'s history is included unchanged in its signed checkpoint.

    ``trusted_key``: the public key the regulator holds (without it, the key inside the file is used,
    which proves only that the file is consistent). ``kept_checkpoint``: a signed checkpoint the
    regulator kept; the file's must be the same one. Raises :class:`ProofFileError` for a file that is
    not a proof file.
    """
    if _get(doc, "format", str) != PROOF_FORMAT:
        raise ProofFileError(f"format: {doc['format']!r}, expected {PROOF_FORMAT!r}")
    body = _get(doc, "checkpoint.statement", Mapping)
    verdict = ProofVerdict(_get(doc, "stream_id", str), _get(doc, "checkpoint.statement.sequence", int))
    _check_signature(doc, body, trusted_key, kept_checkpoint, verdict)
    head = _check_history(doc, verdict)
    if head is not None:
        _check_inclusion(doc, body, head, verdict)
    return verdict


def _check_signature(doc: Any, body: Mapping[str, Any], trusted_key: bytes | None, kept: Any,
                     verdict: ProofVerdict) -> None:
    if _get(doc, "checkpoint.statement.format", str) != STATEMENT_FORMAT:
        verdict.problems.append(f"the checkpoint's statement is not a {STATEMENT_FORMAT} statement")
    file_key = _hex(doc, "checkpoint.public_key", 32)
    key = trusted_key or file_key
    if trusted_key is None:
        verdict.notes.append("the signature was checked with the public key inside the file: give the key you "
                             "trust (--public-key) to know who signed it")
    elif trusted_key != file_key:
        verdict.notes.append("the file names another public key than the one given; the given one was used")
    if not signature_valid(body, _get(doc, "checkpoint.signature", str), key):
        verdict.problems.append(f"the signature of checkpoint {verdict.sequence} does not verify with public key "
                                f"{key.hex()}")
    if kept is not None:
        kept_body = _get(kept, "statement", Mapping)
        if not signature_valid(kept_body, _get(kept, "signature", str), key):
            verdict.problems.append("the checkpoint you kept does not verify with the public key")
        if dict(kept_body) != dict(body):
            verdict.problems.append(
                f"the file's checkpoint is not the one you kept: sequence {body.get('sequence')} root "
                f"{body.get('root')} in the file, sequence {kept_body.get('sequence')} root {kept_body.get('root')} "
                "kept")


def _check_history(doc: Any, verdict: ProofVerdict) -> StreamLeaf | None:
    events = _get(doc, "events", list)
    if not events:
        verdict.problems.append("the file holds no events")
        return None
    links = []
    for i, event in enumerate(events):
        if not isinstance(event, Mapping):
            raise ProofFileError(f"events.{i}: not an event")
        try:
            links.append(ChainLink.from_json(event))
        except KeyError as exc:
            raise ProofFileError(f"events.{i}.{exc.args[0]}: missing") from None
    report = check_chain(links)
    if not report.valid:
        verdict.problems.append(f"the history's hash chain is broken at version {report.first_bad_version}: "
                                f"{report.reason}")
        return None
    strangers = sorted({str(link.body["stream_id"]) for link in links} - {verdict.stream_id})
    if strangers:
        verdict.problems.append(f"the history holds events of other streams: {', '.join(strangers)}")
        return None
    last = links[-1]
    head = StreamLeaf(verdict.stream_id, last.version, last.hash)
    verdict.head = head
    if dict(_get(doc, "leaf", Mapping)) != head.to_json():
        verdict.problems.append(f"the leaf the file states ({doc['leaf']}) is not the head of its history "
                                f"(version {head.version}, hash {head.hash})")
    return head


def _check_inclusion(doc: Any, body: Mapping[str, Any], head: StreamLeaf, verdict: ProofVerdict) -> None:
    tree_size = _get(doc, "checkpoint.statement.tree_size", int)
    signed_root = _hex(doc, "checkpoint.statement.root", 32)
    path = _get(doc, "proof.path", list)
    proof = InclusionProof(_get(doc, "proof.leaf_index", int), tree_size,
                           tuple(_hex_value(p, f"proof.path.{i}", 32) for i, p in enumerate(path)))
    if _get(doc, "proof.tree_size", int) != tree_size:
        verdict.problems.append(f"the proof is for a tree of {doc['proof']['tree_size']} leaves, the checkpoint "
                                f"signed one of {tree_size}")
    try:
        reached = root_from_proof(leaf_hash(head.leaf()), proof)
    except MalformedProof as exc:
        verdict.problems.append(f"the inclusion proof does not fit the signed tree: {exc}")
        return
    if reached != signed_root:
        verdict.problems.append(
            f"the inclusion proof of {head.stream_id} at version {head.version} (hash {head.hash}) leads to root "
            f"{reached.hex()}, not to the signed root {signed_root.hex()}: this history is not the one checkpoint "
            f"{body.get('sequence')} signed, or the database changed since")

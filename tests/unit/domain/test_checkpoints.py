"""Checkpoint proof files, checked offline: a faithful file passes; every kind of change fails, naming why."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from cylinder_trace.domain.canonical import ZERO_HASH, canonical_bytes, chain_hash
from cylinder_trace.domain.chain import HASHED_FIELDS
from cylinder_trace.domain.checkpoints import (
    ProofFileError,
    StreamLeaf,
    heads_root,
    leaf_hashes,
    new_signing_key,
    parse_public_key,
    proof_document,
    sign,
    signing_key,
    statement,
    verify_proof_document,
)
from cylinder_trace.domain.merkle import inclusion_proof

KEY, PUBLIC = new_signing_key()


def history(stream_id: str, n: int, salt: str = "") -> list[dict[str, Any]]:
    """``n`` chained events as the history endpoint writes them."""
    out: list[dict[str, Any]] = []
    prev = ZERO_HASH
    for version in range(1, n + 1):
        body = {"event_id": f"{stream_id}-{version}{salt}", "stream_id": stream_id, "version": version,
                "type": "CylinderFilled", "occurred_at": "2026-11-28T01:00:00.000000+00:00",
                "recorded_at": "2026-11-28T01:00:00.000000+00:00", "actor": "admin:admin",
                "data": {"net_mass_kg": 14.5, "station_id": "站1"}}
        digest = chain_hash(prev, body)
        out.append({"position": version, **body, "source": "api", "prev_hash": prev, "hash": digest})
        prev = digest
    return out


def rechain(events: list[dict[str, Any]]) -> None:
    """Recompute every hash from the first event on, as an administrator covering an edit would."""
    prev = ZERO_HASH
    for e in events:
        e["prev_hash"] = prev
        e["hash"] = prev = chain_hash(prev, {k: e[k] for k in HASHED_FIELDS})


def town() -> dict[str, list[dict[str, Any]]]:
    return {f"cylinder:{i:04d}": history(f"cylinder:{i:04d}", 1 + i % 4) for i in range(7)}


def export(streams: dict[str, list[dict[str, Any]]], stream_id: str, signed: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    heads = [StreamLeaf(s, evs[-1]["version"], evs[-1]["hash"]) for s, evs in sorted(streams.items())]
    index = [h.stream_id for h in heads].index(stream_id)
    root, proof = inclusion_proof(leaf_hashes(heads), index)
    if signed is None:
        signed = sign(statement(jurisdiction="CN-JL-DAGANGZI", sequence=1, taken_at="2026-11-28T02:00:00+00:00",
                                position=99, tree_size=len(heads), root=root), signing_key(KEY))
    return proof_document(signed, stream_id, streams[stream_id], heads[index], proof)


def test_a_faithful_file_verifies_with_the_public_key() -> None:
    doc = export(town(), "cylinder:0003")
    verdict = verify_proof_document(doc, parse_public_key(PUBLIC))
    assert verdict.ok, verdict.problems
    assert verdict.head == StreamLeaf("cylinder:0003", 4, doc["events"][-1]["hash"])
    assert verdict.notes == []


def test_without_a_trusted_key_it_says_the_files_own_key_was_used() -> None:
    verdict = verify_proof_document(export(town(), "cylinder:0000"))
    assert verdict.ok and "--public-key" in verdict.notes[0]


def test_every_stream_of_the_tree_proves_against_one_root() -> None:
    streams = town()
    heads = [StreamLeaf(s, e[-1]["version"], e[-1]["hash"]) for s, e in sorted(streams.items())]
    signed = export(streams, "cylinder:0000")["checkpoint"]
    assert signed["statement"]["root"] == heads_root(heads).hex()
    for stream_id in streams:
        assert verify_proof_document(export(streams, stream_id, signed), parse_public_key(PUBLIC)).ok


def test_an_edited_event_breaks_the_chain() -> None:
    doc = export(town(), "cylinder:0003")
    doc["events"][1]["data"]["net_mass_kg"] = 9.0
    verdict = verify_proof_document(doc, parse_public_key(PUBLIC))
    assert not verdict.ok and "hash chain is broken at version 2" in verdict.problems[0]


def test_a_consistently_rewritten_history_is_not_in_the_signed_tree() -> None:
    """The chain holds after the rewrite; the checkpoint still tells."""
    streams = town()
    signed = export(streams, "cylinder:0003")["checkpoint"]
    streams["cylinder:0003"][1]["data"]["net_mass_kg"] = 9.0
    rechain(streams["cylinder:0003"])
    verdict = verify_proof_document(export(streams, "cylinder:0003", signed), parse_public_key(PUBLIC))
    assert not verdict.ok
    assert len(verdict.problems) == 1 and "not to the signed root" in verdict.problems[0]


def test_a_history_cut_short_is_not_the_head_the_tree_holds() -> None:
    doc = export(town(), "cylinder:0003")
    doc["events"].pop()
    verdict = verify_proof_document(doc, parse_public_key(PUBLIC))
    assert not verdict.ok and "is not the head of its history" in verdict.problems[0]
    doc["leaf"] = {"stream_id": "cylinder:0003", "version": 3, "hash": doc["events"][-1]["hash"]}
    assert "not to the signed root" in verify_proof_document(doc, parse_public_key(PUBLIC)).problems[0]


def test_another_streams_events_are_refused() -> None:
    streams = town()
    doc = export(streams, "cylinder:0001")
    doc["events"] = streams["cylinder:0005"]
    verdict = verify_proof_document(doc, parse_public_key(PUBLIC))
    assert not verdict.ok and "other streams: cylinder:0005" in verdict.problems[0]


def test_a_signature_by_another_key_fails() -> None:
    doc = export(town(), "cylinder:0002")
    _, other_public = new_signing_key()
    verdict = verify_proof_document(doc, parse_public_key(other_public))
    assert not verdict.ok and "does not verify with public key" in verdict.problems[0]
    assert "another public key" in verdict.notes[0]


def test_a_resigned_statement_with_a_new_root_fails_with_the_trusted_key() -> None:
    """Whoever rewrites the database and re-signs with a key of their own is caught by the key."""
    streams = town()
    streams["cylinder:0003"][0]["actor"] = "admin:someone-else"
    rechain(streams["cylinder:0003"])
    forger, _ = new_signing_key()
    heads = [StreamLeaf(s, e[-1]["version"], e[-1]["hash"]) for s, e in sorted(streams.items())]
    forged = sign(statement(jurisdiction="CN-JL-DAGANGZI", sequence=1, taken_at="2026-11-28T02:00:00+00:00",
                            position=99, tree_size=len(heads), root=heads_root(heads)), signing_key(forger))
    doc = export(streams, "cylinder:0003", forged)
    assert verify_proof_document(doc).ok  # consistent with itself …
    assert not verify_proof_document(doc, parse_public_key(PUBLIC)).ok  # … but not signed by the town's key


def test_the_checkpoint_kept_by_the_regulator_must_be_the_files() -> None:
    streams = town()
    kept = export(streams, "cylinder:0001")["checkpoint"]
    assert verify_proof_document(export(streams, "cylinder:0001"), parse_public_key(PUBLIC), kept).ok
    streams["cylinder:0001"][0]["data"] = {}
    rechain(streams["cylinder:0001"])
    resigned = export(streams, "cylinder:0001")  # the key holder signs a new tree under the same sequence
    verdict = verify_proof_document(resigned, parse_public_key(PUBLIC), kept)
    assert not verdict.ok and "not the one you kept" in verdict.problems[0]


def test_the_proof_must_be_for_the_signed_tree_size() -> None:
    doc = export(town(), "cylinder:0001")
    doc["proof"]["tree_size"] += 1
    assert "a tree of 8 leaves" in verify_proof_document(doc, parse_public_key(PUBLIC)).problems[0]
    doc = export(town(), "cylinder:0001")
    doc["proof"]["path"].pop()
    assert "does not fit the signed tree" in verify_proof_document(doc, parse_public_key(PUBLIC)).problems[0]


@pytest.mark.parametrize(("edit", "named"), [
    (lambda d: d.pop("checkpoint"), "checkpoint.statement: missing"),
    (lambda d: d.update(format="something/else"), "format"),
    (lambda d: d["proof"].update(leaf_index="3"), "proof.leaf_index: not a int"),
    (lambda d: d["proof"]["path"].__setitem__(0, "zz"), "proof.path.0: not hex"),
    (lambda d: d["checkpoint"].update(public_key="ab"), "checkpoint.public_key: 1 bytes"),
    (lambda d: d["events"][0].pop("hash"), "events.0.hash: missing"),
    (lambda d: d["events"].__setitem__(1, "an event"), "events.1: not an event"),
    (lambda d: d.update(events={}), "events: not a list"),
])
def test_a_file_that_is_no_proof_file_is_named_as_such(edit: Any, named: str) -> None:
    doc = copy.deepcopy(export(town(), "cylinder:0001"))
    edit(doc)
    with pytest.raises(ProofFileError, match=named.replace(".", r"\.")):
        verify_proof_document(doc, parse_public_key(PUBLIC))


def test_leaves_are_the_canonical_json_of_the_head_and_must_be_sorted() -> None:
    head = StreamLeaf("cylinder:甲", 2, "ab" * 32)
    assert head.leaf() == canonical_bytes({"hash": "ab" * 32, "stream_id": "cylinder:甲", "version": 2})
    assert head.leaf() == ('{"hash":"' + "ab" * 32 + '","stream_id":"cylinder:甲","version":2}').encode()
    assert leaf_hashes([head])[0] == hashlib.sha256(b"\x00" + head.leaf()).digest()
    with pytest.raises(ValueError, match="out of order"):
        leaf_hashes([StreamLeaf("b", 1, ZERO_HASH), StreamLeaf("a", 1, ZERO_HASH)])
    with pytest.raises(ValueError, match="out of order"):
        leaf_hashes([StreamLeaf("a", 1, ZERO_HASH), StreamLeaf("a", 2, ZERO_HASH)])


def test_a_public_key_is_read_as_hex_or_pem() -> None:
    from cryptography.hazmat.primitives import serialization

    pem = signing_key(KEY).public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert parse_public_key(pem) == parse_public_key(PUBLIC) == bytes.fromhex(PUBLIC)
    with pytest.raises(ValueError):
        parse_public_key("abcd")

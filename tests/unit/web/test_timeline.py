"""Turning history events into a timeline: who, where, what, and every broken rule of a refusal."""

from __future__ import annotations

from typing import Any

from cylinder_trace.api.masking import PersonalView
from cylinder_trace.app.personal_data import PersonalDataCipher
from cylinder_trace.web.timeline import kind_of, timeline


def _event(version: int, type_: str, data: dict[str, Any], actor: str = "station_operator:p1") -> dict[str, Any]:
    return {"version": version, "event_id": f"e{version}", "type": type_, "occurred_at": "2026-11-28T01:00:00+00:00",
            "recorded_at": "2026-11-28T01:00:01+00:00", "actor": actor, "source": "api", "data": data,
            "hash": "h", "prev_hash": "p"}


def test_steps_name_who_where_and_why() -> None:
    refusal = {"action": "fill", "command": {"station_id": "S1", "filler_id": "F1", "net_mass_kg": 14.5},
               "violations": [{"rule": "FILL_OVERDUE_INSPECTION", "severity": "block", "message_zh": "超期未检",
                               "message_en": "overdue", "subject": "cylinder:X"}]}
    delivery = {"customer_id": "U1", "worker_id": "D1", "vehicle_plate": "吉G12345",
                "safety_check": {"performed": True, "notice_given": True, "customer_signed": False,
                                 "hazards": [{"kind": "hose_aged", "note": ""}]}}
    fill, delivered, refused = timeline([_event(2, "CylinderFilled", {"station_id": "S1", "filler_id": "F1"}),
                                         _event(3, "CylinderDelivered", delivery),
                                         _event(4, "FillRefused", refusal)], {"p1": "王师傅"})
    assert (fill.kind, fill.who, fill.where, fill.actor_name) == ("fill", (("filler_id", "F1"),),
                                                                  (("station_id", "S1"),), "王师傅")
    assert delivered.where == (("customer_id", "U1"), ("vehicle_plate", "吉G12345"))
    assert delivered.safety_check is not None and delivered.safety_check.hazards == ("hose_aged",)
    assert not delivered.safety_check.customer_signed
    assert refused.refused and refused.kind == "refusal" and refused.where == (("station_id", "S1"),)
    assert [v["rule"] for v in refused.violations] == ["FILL_OVERDUE_INSPECTION"]
    assert ("net_mass_kg", "14.5") in refused.facts and ("action", "fill") in refused.facts


def test_kinds() -> None:
    assert [kind_of(t) for t in ("CylinderInspected", "SwapRefused", "ScanFlagged", "ValveReported", "Odd")] == [
        "inspection", "refusal", "flag", "valve", "other"]


def test_id_numbers_are_masked_at_any_depth_and_nothing_else_changes() -> None:
    cipher = PersonalDataCipher(bytes(32))
    data = {"command": {"handed_in_by": {"name": "赵六", "id_number": cipher.seal("220102198001019876")}},
            "items": [{"id_number": "12345678"}], "note": "220102198001019876 stays where it is not an id_number"}
    masked = PersonalView(cipher, unmasked=False).data(data)
    assert masked["command"]["handed_in_by"] == {"name": "赵六", "id_number": "2201**********9876"}
    assert masked["items"] == [{"id_number": "********"}] and masked["note"] == data["note"]
    assert PersonalView(cipher, unmasked=False).data(masked) == masked
    shown = PersonalView(cipher, unmasked=True)
    assert shown.data(data)["command"]["handed_in_by"]["id_number"] == "220102198001019876" and shown.shown_in_full

"""OCEL 2.0 JSON writer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from engine import roles
from engine.audit.export.cases import Case, jsonable
from engine.audit.export.json_csv import _dumps


def _ocel_time(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def ocel_event_type(e: dict) -> str:
    return e["activity"] if e["lifecycle"] == "complete" else f"{e['activity']} ({e['lifecycle']})"


def ocel_stream(cases: Iterable[Case], meta: dict | None = None) -> Iterator[str]:
    """OCEL 2.0 JSON: events stream first; objects and types follow (key order does not matter in
    JSON) so only the object set, not the events, is held while streaming."""
    objects: dict[str, dict] = {}
    event_types: dict[str, dict[str, str]] = {}
    yield '{"events":['
    first = True
    for case in cases:
        case_oid = f"case:{case.id}"
        rel_case = [{"objectId": case_oid, "qualifier": "case"}]
        related = []
        if case.enterprise:
            ent_oid = f"enterprise:{case.enterprise}"
            related.append({"objectId": ent_oid, "qualifier": "enterprise"})
            objects.setdefault(
                ent_oid,
                {
                    "id": ent_oid,
                    "type": "enterprise",
                    "attributes": [
                        {
                            "name": "name",
                            "time": _ocel_time(case.created_at),
                            "value": case.enterprise_name or case.enterprise,
                        },
                        {"name": "username", "time": _ocel_time(case.created_at), "value": case.enterprise},
                    ],
                    "relationships": [],
                },
            )
        if case.business_key:
            bk_oid = f"permit_or_project:{case.business_key}"
            related.append({"objectId": bk_oid, "qualifier": "permit/project"})
            objects.setdefault(
                bk_oid,
                {
                    "id": bk_oid,
                    "type": "permit_or_project",
                    "attributes": [
                        {"name": "business_key", "time": _ocel_time(case.created_at), "value": case.business_key}
                    ],
                    "relationships": [],
                },
            )
        case_attrs = [
            {"name": "process_key", "time": _ocel_time(case.created_at), "value": case.process_key},
            {"name": "process_version", "time": _ocel_time(case.created_at), "value": case.version},
            {"name": "status", "time": _ocel_time(case.created_at), "value": "running"},
        ]
        if case.status != "running":
            case_attrs.append(
                {"name": "status", "time": _ocel_time(case.ended_at or case.created_at), "value": case.status}
            )
        if case.outcome_id:
            case_attrs.append(
                {
                    "name": "outcome",
                    "time": _ocel_time(case.ended_at or case.created_at),
                    "value": case.outcome_name or case.outcome_id,
                }
            )
        objects[case_oid] = {
            "id": case_oid,
            "type": "case",
            "attributes": case_attrs,
            "relationships": [dict(r) for r in related],
        }
        chunk = []
        for e in case.events:
            rels = rel_case + related
            if e["role"] and roles.BY_CODE.get(e["role"]) and roles.BY_CODE[e["role"]].department:
                dep_oid = f"department:{e['role']}"
                rels = rels + [{"objectId": dep_oid, "qualifier": "department"}]
                objects.setdefault(
                    dep_oid,
                    {
                        "id": dep_oid,
                        "type": "department",
                        "attributes": [
                            {"name": "name", "time": "1970-01-01T00:00:00+00:00", "value": e["role_name"]},
                            {"name": "code", "time": "1970-01-01T00:00:00+00:00", "value": e["role"]},
                        ],
                        "relationships": [],
                    },
                )
            attrs = {
                "lifecycle": e["lifecycle"],
                "transition": e["transition"],
                "seq": e["seq"],
                "activity_id": e["activity_id"],
                "actor": e["actor"],
                "role": e["role"],
                "task_id": e["task_id"],
                "hash": e["hash"],
            }
            if e["data"]:
                attrs["data"] = _dumps(jsonable(e["data"]))
            etype = ocel_event_type(e)
            declared = event_types.setdefault(etype, {})
            ev_attrs = []
            for k, v in attrs.items():
                if v is None:
                    continue
                declared.setdefault(k, "integer" if isinstance(v, int) else "string")
                ev_attrs.append({"name": k, "value": v})
            chunk.append(
                ("" if first and not chunk else ",")
                + "\n"
                + _dumps(
                    {
                        "id": f"{case.id}:{e['seq']}",
                        "type": etype,
                        "time": _ocel_time(e["at"]),
                        "attributes": ev_attrs,
                        "relationships": rels,
                    }
                )
            )
        if chunk:
            first = False
            yield "".join(chunk)
    yield '\n],\n"objects":[' + ",".join("\n" + _dumps(o) for o in objects.values()) + "\n],\n"
    object_types = [
        {
            "name": "case",
            "attributes": [
                {"name": "process_key", "type": "string"},
                {"name": "process_version", "type": "integer"},
                {"name": "status", "type": "string"},
                {"name": "outcome", "type": "string"},
            ],
        },
        {
            "name": "enterprise",
            "attributes": [{"name": "name", "type": "string"}, {"name": "username", "type": "string"}],
        },
        {"name": "permit_or_project", "attributes": [{"name": "business_key", "type": "string"}]},
        {"name": "department", "attributes": [{"name": "name", "type": "string"}, {"name": "code", "type": "string"}]},
    ]
    yield (
        '"objectTypes":'
        + _dumps(object_types)
        + ',\n"eventTypes":'
        + _dumps(
            [
                {"name": t, "attributes": [{"name": k, "type": v} for k, v in attrs.items()]}
                for t, attrs in event_types.items()
            ]
        )
        + "\n}\n"
    )

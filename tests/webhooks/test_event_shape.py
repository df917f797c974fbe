"""Every field of an event the product relies on is checked; the answer names the field."""
from __future__ import annotations

import importlib
import time

import orjson
import pytest

from warehouse.event_shape import OBJECTS_WITHOUT_ID, check_event


def event(**changes) -> dict:
    ev = {"id": "evt_1", "object": "event", "type": "charge.succeeded", "created": int(time.time()),
          "livemode": False, "data": {"object": {"id": "ch_1", "object": "charge"}}}
    for path, value in changes.items():
        holder, *keys = [ev, *path.split("__")]
        for key in keys[:-1]:
            holder = holder[key]
        if value is DELETE:
            del holder[keys[-1]]
        else:
            holder[keys[-1]] = value
    return ev


DELETE = object()
YEAR = 366 * 86400

BAD = [  # (changes, the message naming the field)
    ({"id": DELETE}, "id must be a string"),
    ({"id": 42}, "id must be a string"),
    ({"id": "evt_" + "x" * 252}, "id is longer than 255 characters"),
    ({"id": "evt_1\n"}, "id must not contain control characters"),
    ({"object": "charge"}, "object must be 'event'"),
    ({"type": None}, "type must be a string"),
    ({"type": ""}, "type must not be empty"),
    ({"type": "x" * 129}, "type is longer than 128 characters"),
    ({"created": "1700000000"}, "created must be an integer"),
    ({"created": 1.7e9}, "created must be an integer"),
    ({"created": True}, "created must be an integer"),
    ({"created": -1}, "created is out of range"),
    ({"created": int(time.time() * 1000)}, "created is out of range"),   # milliseconds
    ({"livemode": "false"}, "livemode must be a boolean"),
    ({"data": None}, "data must be an object"),
    ({"data__object": "ch_1"}, "data.object must be an object"),
    ({"data__object__id": 123}, "data.object.id must be a string"),
    ({"data__object__id": {"nested": "ch_1"}}, "data.object.id must be a string"),
    ({"data__object__id": None}, "data.object.id must be a string"),
    ({"data__object__id": DELETE}, "data.object.id must be a string"),
    ({"data__object__id": ""}, "data.object.id must not be empty"),
    ({"data__object__id": "ch_" + "1" * 253}, "data.object.id is longer than 255 characters"),
    ({"data__object__id": "ch_1\x00"}, "data.object.id must not contain control characters"),
    ({"data__object__id": "ch_\u00851"}, "data.object.id must not contain control characters"),
    ({"data__object__object": DELETE}, "data.object.object must be a string"),
    ({"data__object__object": "x" * 65}, "data.object.object is longer than 64 characters"),
]


@pytest.mark.parametrize("changes,message", BAD, ids=[m for _, m in BAD])
def test_malformed_events_are_refused_naming_the_field(changes: dict, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_event(event(**changes))
    assert str(refused.value).startswith(message)


def test_well_formed_events_pass_at_their_bounds() -> None:
    now = int(time.time())
    for ev in (event(), event(id="evt_" + "x" * 251, data__object__id="ch_" + "1" * 252),
               event(created=1262304000), event(created=now + 2 * YEAR), event(livemode=True),
               event(type="v1.billing.meter.error_report_triggered"),
               event(data__object={"object": "balance", "available": []})):   # balance.available
        assert check_event(orjson.loads(orjson.dumps(ev)))


def test_objects_without_an_id_are_those_of_the_installed_stripe_sdk() -> None:
    from stripe._object_classes import OBJECT_CLASSES
    without = set()
    for name, (module, cls_name) in OBJECT_CLASSES.items():
        cls = getattr(importlib.import_module(module), cls_name)
        fields = {k for klass in cls.__mro__ for k in getattr(klass, "__annotations__", {})}
        if "id" not in fields:
            without.add(name)
    assert without == OBJECTS_WITHOUT_ID

"""Every JSON body a sandbox serves is the spec's, strictly: no field the spec lacks.

Two layers use the same check (`tests/strict_conformance.py`: the spec made strict, and the
generated models with nothing left over). In every test, the sandbox fixtures check each
answer as it leaves the sandbox (`tests/conftest.py`); tests that serve an odd field on
purpose say so with ``@pytest.mark.sandbox_serves_off_spec``. Here, each registered provider's
sandbox is driven through every route, every status its spec lists (``x-finality``), unknown
ids, missing and wrong keys, its rate limiter and the faults that answer in the provider's
own JSON (``error`` for every documented HTTP status of the route, ``rate_limit``), so the
check covers the whole served surface whatever the other tests happen to touch. A fake still
serving a field the spec renamed fails, naming the field, the spec and the fake to update:
the drill test below renames telecom23's `delivered_at` in a copy of the spec and shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sandbox_support import client, spec
from sms_status._registry import PROVIDERS
from sms_status.testing import FakeClock, Sandbox
from strict_conformance import ROOT, StrictConformance

PHONE, REFERENCE, BATCH = "+14155550100", "ref-conform", "batch-conform"
UNKNOWN = "no-such-id-404"
PATH_VALUES = {"phonenumber": PHONE, "referencekey": REFERENCE, "batch_id": BATCH}
"""What to put in a path parameter that is not a message id (the id routes get every id)."""
QUERIES: dict[tuple[str, str], list[dict[str, str]]] = {
    ("seven", "status"): [{"msg_id": "{id}"}, {"msg_id": "{ids}"}, {"msg_id": UNKNOWN}],
    ("seven", "journal"): [{}, {"id": "{id}"}, {"id": UNKNOWN}],
    ("roycetalk", "list"): [{}, {"batch_id": BATCH}],
}
"""Routes addressed by query rather than path: the queries to send (``{id}``: every id)."""
SEED_FIELDS: dict[str, dict[str, str]] = {
    "namirial": {"phone": PHONE, "reference_key": REFERENCE},
    "roycetalk": {"batch_id": BATCH},
}
"""The fakes' own add_message fields that make a message findable by their history routes."""
_PARAM = re.compile(r"\{([a-zA-Z_]+)\}")


def _statuses(key: str) -> list[str]:
    schemas = spec(key)["components"]["schemas"]
    (finality,) = [s["x-finality"] for s in schemas.values() if "x-finality" in s]
    return list(finality)


def _seed(sb: Sandbox) -> list[str]:
    """One message per documented status, findable by every route; returns their ids."""
    ids = []
    for n, status in enumerate(_statuses(sb.key)):
        message_id = str(93000000000 + n)
        sb.add_message(message_id, statuses=(status,), **SEED_FIELDS.get(sb.key, {}))
        ids.append(message_id)
    return [*ids, *sb.example_ids]


def _urls(sb: Sandbox, ids: list[str]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(route name, spec path, query) for every request that reaches a documented route."""
    for route in sb.provider.routes:
        if not route.auth:
            continue  # e.g. roycetalk's trailing-slash redirect: not a documented path
        names = _PARAM.findall(route.template)
        if not names:
            for query in QUERIES.get((sb.key, route.name), [{}]):
                values = [v for v in query.values() if v == "{id}"]
                for one in ids if values else [""]:
                    yield (
                        route.name,
                        route.template,
                        {
                            k: v.replace("{ids}", ",".join(ids)).replace("{id}", one)
                            for k, v in query.items()
                        },
                    )
            continue
        (name,) = names
        values = [PATH_VALUES[name], "unknown-" + name] if name in PATH_VALUES else [*ids, UNKNOWN]
        for value in values:
            yield route.name, route.template.replace("{" + name + "}", value), {}


def _get(c: httpx.Client, path: str, query: dict[str, str]) -> httpx.Response:
    return c.get(httpx.URL(path).copy_with(query=None), params=query or None)


def _answers(sb: Sandbox) -> Iterator[tuple[str, httpx.Response]]:
    """(spec path, answer) for every lifecycle, error and JSON fault of every route."""
    ids = _seed(sb)
    urls = list(_urls(sb, ids))
    templates = {route.name: route.template for route in sb.provider.routes}
    with client(sb) as good, client(sb, key="definitely-wrong") as wrong:
        bare = httpx.Client(base_url=sb.base_url, timeout=5.0)
        with bare:
            for name, path, query in urls:
                yield templates[name], _get(good, path, query)
            seen: set[str] = set()
            for name, path, query in urls:
                if name in seen:
                    continue
                seen.add(name)
                template = templates[name]
                yield template, _get(wrong, path, query)
                yield template, _get(bare, path, query)
                # Only the failures the spec documents for the route: a fault can model an
                # undocumented one (a bare 500), and that claims no conformance.
                documented = spec(sb.key)["paths"][template]["get"]["responses"]
                for status in sorted(s for s in documented if s.isdigit() and s >= "400"):
                    sb.inject_fault("error", status=int(status), route=name)
                    yield template, _get(good, path, query)
                if "429" in documented or "default" in documented:
                    sb.inject_fault("rate_limit", route=name, body="json")
                    yield template, _get(good, path, query)
                    sb.rate_limit = (1, 3600.0)
                    _get(good, path, query)
                    yield template, _get(good, path, query)
                    sb.rate_limit = None


def _problems(sb: Sandbox, check: StrictConformance) -> tuple[int, list[str]]:
    checked, found = 0, []
    for template, response in _answers(sb):
        if response.content and "json" in response.headers.get("content-type", ""):
            checked += 1
        found += check.problems(template, response)
    return checked, sorted(set(found))


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(request.param, clock=FakeClock()).serve() as sb:
        yield sb


@pytest.mark.parametrize("sandbox", PROVIDERS, indirect=True)
def test_every_json_body_the_sandbox_serves_is_strictly_the_specs(sandbox: Sandbox) -> None:
    checked, found = _problems(sandbox, StrictConformance(sandbox.key))
    assert checked >= len(_statuses(sandbox.key)), f"only {checked} JSON bodies were checked"
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("sandbox", ["telecom23"], indirect=True)
def test_a_field_the_spec_renamed_is_named_with_its_fix(sandbox: Sandbox, tmp_path: Path) -> None:
    """The drill: telecom23 renames `delivered_at` -> `delivery_time` in its spec, and the
    fake still serves the old name. Nothing else noticed that; this check does."""
    text = (ROOT / "specs" / "telecom23.yaml").read_text()
    renamed = text.replace("        delivered_at:\n", "        delivery_time:\n")
    assert renamed != text
    (tmp_path / "telecom23.yaml").write_text(renamed)
    _, found = _problems(sandbox, StrictConformance("telecom23", tmp_path / "telecom23.yaml"))
    expected = (
        "the sandbox serves `delivered_at` (at .message), which specs/telecom23.yaml no "
        "longer has: update overlays/sms_status/testing/telecom23.py"
    )
    assert found, "the renamed field went unnoticed"
    assert all(expected in line for line in found), "\n".join(found)


@pytest.mark.parametrize("sandbox", ["lisoloo"], indirect=True)
def test_a_field_only_the_generated_model_lacks_is_named(sandbox: Sandbox) -> None:
    """(b) on its own: where the spec allows more fields (lisoloo's error envelope says
    ``additionalProperties: true``), the sandbox still serves none the model does not know."""
    sandbox.inject_fault("error", status=404, fields={"surprise": "x"})
    template = sandbox.provider.routes[0].template
    with client(sandbox) as c:
        response = c.get(template.replace("{message_id}", "93100000000"))
    assert response.json()["surprise"] == "x"
    found = StrictConformance("lisoloo").problems(template, response)
    assert found == [
        f"lisoloo GET {template} -> 404: the generated model ErrorEnvelope keeps `surprise` as "
        "an unknown field (additional_properties): update overlays/sms_status/testing/"
        "lisoloo.py, or regenerate from specs/lisoloo.yaml"
    ]

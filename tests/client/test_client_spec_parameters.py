"""Every parameter of every spec operation is reachable through the overlay, or listed in
the provider module's SPEC_PARAMETERS as deliberately not exposed, with the reason; and the
raw generated model is reachable typed (`StatusReport.raw_as`)."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
import sms_status
from client_support import PROVIDERS, connect, json_response, seed_for, spec
from sms_status.client import ClientOptions

EXPOSED = re.compile(r"exposed: (\w+)\((\w+)\)")


def _spec_parameters(provider: str) -> set[str]:
    document = spec(provider)
    shared = document.get("components", {}).get("parameters", {})
    found: set[str] = set()
    for item in document["paths"].values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for declared in [*item.get("parameters", []), *operation.get("parameters", [])]:
                reference = declared.get("$ref")
                parameter = shared[reference.rsplit("/", 1)[-1]] if reference else declared
                found.add(f"{operation['operationId']}.{parameter['name']}")
    return found


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_spec_parameter_is_exposed_or_listed_as_not(provider: str) -> None:
    table = importlib.import_module(f"sms_status.providers.{provider}").SPEC_PARAMETERS
    where = f"sms_status/providers/{provider}.py SPEC_PARAMETERS"
    missing = _spec_parameters(provider) - set(table)
    assert not missing, f"{where}: expose these spec parameters or say why not: {missing}"
    stale = set(table) - _spec_parameters(provider)
    assert not stale, f"{where}: not in specs/{provider}.yaml any more: {stale}"
    with sms_status.connect(provider, api_key="k") as client:  # closed: "k" stays unmasked
        client_class = type(client)
    for parameter, how in table.items():
        if how.startswith("not exposed: "):
            assert len(how) > len("not exposed: ") + 10, f"{parameter}: give the reason"
            continue
        match = EXPOSED.fullmatch(how)
        assert match, f"{where}[{parameter!r}]: 'exposed: method(arg)' or 'not exposed: why'"
        method, argument = match.groups()
        if method == "connect":  # an option of the client, sent with every request
            assert argument in ClientOptions.__optional_keys__, f"{parameter}: no {argument!r}"
            continue
        signature = inspect.signature(getattr(client_class, method))
        assert argument in signature.parameters, f"{parameter}: {method} has no {argument!r}"


MESSAGE_ID = "77232007287"
RAW_TYPES = {
    "telecom23": "sms_status_telecom23.models.StatusResponse",
    "namirial": "sms_status_namirial.models.MessageDetails",
    "roycetalk": "sms_status_roycetalk.models.MessageStatusResponse",
    "lisoloo": "sms_status_lisoloo.models.MessageStatusResponse",
    "seven": "sms_status_seven.models.StatusReport",
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_raw_as_returns_the_generated_model_the_docstring_names(provider: str) -> None:
    module, _, name = RAW_TYPES[provider].rpartition(".")
    model = getattr(importlib.import_module(module), name)
    body = seed_for(provider, MESSAGE_ID)
    with connect(provider, lambda _request: json_response(body)) as client:
        report = client.get_status(MESSAGE_ID)
    assert report.raw_as(model) is report.raw
    assert name in (sms_status.StatusReport.raw_as.__doc__ or "")
    with pytest.raises(TypeError, match=f"this {provider} report's raw is"):
        report.raw_as(dict)

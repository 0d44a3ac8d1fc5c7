"""`nox -s spec_diff` (scripts/spec_diff.py): each kind of vendor change, classified.

Every case commits a small spec to a fresh git repository in tmp_path, edits the working
copy the way a vendor change would, and reads the script's output, a format others script
against: one `breaking:`/`compatible:` line per change, the classification, the bump.
"""

from __future__ import annotations

import contextlib
import copy
import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import spec_diff  # noqa: E402

STRING = {"type": "string"}
BASE: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "seven", "version": "1"},
    "servers": [{"url": "https://gateway.seven.io"}],
    "security": [{"ApiKeyAuth": []}],
    "paths": {
        "/api/status": {
            "get": {
                "operationId": "getStatus",
                "parameters": [
                    {
                        "name": "msg_id",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/StatusReport"}
                            }
                        },
                    }
                },
            }
        }
    },
    "components": {
        "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
        "schemas": {
            "StatusReport": {
                "type": "object",
                "required": ["id", "status"],
                "properties": {
                    "id": {"type": "string"},
                    "status": {"$ref": "#/components/schemas/DeliveryStatus"},
                    "status_time": {"type": "string"},
                },
            },
            "DeliveryStatus": {
                "type": "string",
                "enum": ["DELIVERED", "BUFFERED", "FAILED"],
                "x-finality": {"DELIVERED": "final", "BUFFERED": "not final", "FAILED": "final"},
            },
        },
    },
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with the registry, seven's generator config (0.1.0) and BASE."""
    root = tmp_path / "repo"
    registry = root / "overlays" / "sms_status" / "_registry.py"
    registry.parent.mkdir(parents=True)
    shutil.copy(ROOT / "overlays" / "sms_status" / "_registry.py", registry)
    (root / "generator").mkdir()
    (root / "generator" / "seven.yaml").write_text('package_version_override: "0.1.0"\n')
    (root / "specs").mkdir()
    (root / "specs" / "seven.yaml").write_text(yaml.safe_dump(BASE, sort_keys=False))
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "base")
    return root


def _diff(repo: Path, edit: Callable[[dict[str, Any]], None], *args: str) -> list[str]:
    spec = copy.deepcopy(BASE)
    edit(spec)
    (repo / "specs" / "seven.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return _run(repo, "seven", *args)


def _run(repo: Path, *argv: str) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert spec_diff.main(list(argv), root=repo) == 0
    return out.getvalue().splitlines()


def _ok(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["paths"]["/api/status"]["get"]["responses"]["200"]


def _schemas(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["schemas"]


def _status_params(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["paths"]["/api/status"]["get"]["parameters"]


def test_added_enum_value_is_compatible_and_asks_for_a_mapping(repo: Path) -> None:
    out = _diff(repo, lambda s: _schemas(s)["DeliveryStatus"]["enum"].append("SCHEDULED"))
    assert out[:3] == [
        "compatible: DeliveryStatus enum + SCHEDULED",
        "classification: compatible",
        "proposed bump: sms-status-seven 0.1.0 -> 0.1.1",
    ]
    assert any("STATUSES of overlays/sms_status/providers/seven.py" in line for line in out)
    assert "- sms-status-seven 0.1.1: specs/seven.yaml changed:" in out
    assert "  - DeliveryStatus enum + SCHEDULED" in out


def test_removed_enum_value_is_breaking(repo: Path) -> None:
    out = _diff(repo, lambda s: _schemas(s)["DeliveryStatus"]["enum"].remove("BUFFERED"))
    assert out[:3] == [
        "breaking: DeliveryStatus enum - BUFFERED",
        "classification: breaking",
        "proposed bump: sms-status-seven 0.1.0 -> 0.2.0",
    ]
    assert "  - BREAKING: DeliveryStatus enum - BUFFERED" in out


def test_new_required_parameter_is_breaking_and_optional_one_compatible(repo: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        _status_params(spec).append(
            {"name": "account", "in": "query", "required": True, "schema": {"type": "string"}}
        )
        _status_params(spec).append(
            {"name": "channel", "in": "query", "schema": {"type": "string"}}
        )

    out = _diff(repo, edit)
    assert "breaking: GET /api/status new required query parameter account" in out
    assert "compatible: GET /api/status new optional query parameter channel" in out
    assert "classification: breaking" in out


def test_renamed_auth_header_is_breaking(repo: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        spec["components"]["securitySchemes"]["ApiKeyAuth"]["name"] = "X-Api-Token"

    out = _diff(repo, edit)
    assert out[:2] == [
        "breaking: security scheme ApiKeyAuth header X-Api-Key -> X-Api-Token",
        "classification: breaking",
    ]


def test_removed_field_is_breaking(repo: Path) -> None:
    out = _diff(repo, lambda s: _schemas(s)["StatusReport"]["properties"].pop("status_time"))
    assert out[:2] == [
        "breaking: StatusReport field status_time removed",
        "classification: breaking",
    ]


def test_new_optional_field_is_compatible(repo: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        _schemas(spec)["StatusReport"]["properties"]["price"] = {"type": "number"}

    out = _diff(repo, edit)
    assert out[:3] == [
        "compatible: StatusReport new optional field price (number)",
        "classification: compatible",
        "proposed bump: sms-status-seven 0.1.0 -> 0.1.1",
    ]


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (
            lambda s: s.update(servers=[{"url": "https://gateway.seven.io/v2"}]),
            "breaking: server https://gateway.seven.io removed",
        ),
        (
            lambda s: s["paths"].update({"/api/v2/status": s["paths"].pop("/api/status")}),
            "breaking: operation GET /api/status removed",
        ),
        (
            lambda s: s["paths"]["/api/status"]["get"].update(deprecated=True),
            "compatible: operation GET /api/status deprecated",
        ),
        (
            lambda s: _schemas(s)["StatusReport"]["required"].remove("status"),
            "breaking: StatusReport.status no longer required (its type gains Unset)",
        ),
        (
            lambda s: _schemas(s)["StatusReport"]["properties"].update(
                status_time={"type": "string", "format": "date-time"}
            ),
            "breaking: StatusReport.status_time type string -> string/date-time",
        ),
        (
            lambda s: _schemas(s)["DeliveryStatus"]["x-finality"].update(BUFFERED="final"),
            "breaking: DeliveryStatus finality of BUFFERED: not final -> final",
        ),
        # A status whose finality was stated only there (telecom23's FAILED) leaves STATUSES:
        # UNRECOGNIZED and polled to the timeout. Both read "no change" (a review's find).
        (
            lambda s: _schemas(s)["DeliveryStatus"]["x-finality"].pop("FAILED"),
            "breaking: DeliveryStatus finality of FAILED removed (was final)",
        ),
        (
            lambda s: _schemas(s)["DeliveryStatus"]["x-finality"].update(EXPIRED="final"),
            "compatible: DeliveryStatus finality of EXPIRED added (final; add it to STATUSES)",
        ),
        (
            lambda s: _status_params(s)[0].update(schema={"type": "integer"}),
            "breaking: GET /api/status query parameter msg_id type string -> integer",
        ),
        # Each read "no change, same version" (a review's find):
        (
            lambda s: s["paths"]["/api/status"]["get"].update(tags=["messages"]),
            "breaking: operation GET /api/status tag none -> ['messages'] "
            "(its generated module moves: api/<tag>/)",
        ),
        (
            lambda s: _ok(s).update(content={"text/plain": {"schema": {"type": "string"}}}),
            "breaking: GET /api/status response 200 is read as text (text/plain), "
            "not json (application/json)",
        ),
        (
            lambda s: _ok(s).pop("content"),
            "breaking: GET /api/status response 200 is read as no body, "
            "not json (application/json)",
        ),
        (
            lambda s: _ok(s)["content"].update({"text/csv": {}}),
            "compatible: GET /api/status response 200 also comes as text/csv",
        ),
        (  # the generator reads the first type it can: JSON's model is gone
            lambda s: _ok(s).update(content={"text/plain": {}, **_ok(s)["content"]}),
            "breaking: GET /api/status response 200 is read as text (text/plain), "
            "not json (application/json)",
        ),
        # Another way in (OR) leaves every caller's working: read "breaking" before.
        (
            lambda s: s["security"].append({"BearerAuth": []}),
            "compatible: global security requirement: an alternative added",
        ),
        (
            lambda s: s.update(security=[{"BearerAuth": []}]),
            "breaking: global security requirement changed",
        ),
        (
            lambda s: s["paths"]["/api/status"]["get"].update(security=[{"BearerAuth": []}]),
            "breaking: operation GET /api/status security requirement changed",
        ),
        # Defaults are sent when a caller gives none; other fields are kept, or not:
        (
            lambda s: _status_params(s)[0]["schema"].update(default="abc"),
            "compatible: GET /api/status query parameter msg_id default 'abc' added",
        ),
        (
            lambda s: _schemas(s)["StatusReport"]["properties"]["status_time"].update(default="0"),
            "compatible: StatusReport.status_time default '0' added",
        ),
        (
            lambda s: _schemas(s)["StatusReport"].update(additionalProperties=False),
            "breaking: StatusReport other fields (additional_properties): any -> none",
        ),
        (
            lambda s: _schemas(s)["StatusReport"].update(additionalProperties=STRING),
            "breaking: StatusReport other fields (additional_properties): any -> string",
        ),
        (  # absent means true for the keys kept; only true makes the model OPEN_BY_SPEC
            lambda s: _schemas(s)["StatusReport"].update(additionalProperties=True),
            "compatible: StatusReport declared open (OPEN_BY_SPEC: unknown keys warn of nothing)",
        ),
        (  # "json" in its name, but no type the generator reads
            lambda s: _ok(s).update(content={"application/x-ndjson": {}}),
            "breaking: GET /api/status response 200 is read as unreadable "
            "(application/x-ndjson), not json (application/json)",
        ),
    ],
)
def test_other_changes_are_classified(
    repo: Path, edit: Callable[[dict[str, Any]], None], line: str | None
) -> None:
    out = _diff(repo, edit)
    if line is None:
        assert out[0] == "classification: compatible", out  # no line: no change
        assert out[1].endswith("0.1.0 -> 0.1.0"), out
    else:
        assert line in out


def _with(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def edit(spec: dict[str, Any]) -> None:
        _status_params(spec)[0]["schema"].update(fields)
        _schemas(spec)["StatusReport"].update(fields)

    return edit


@pytest.mark.parametrize(
    ("before", "after", "lines"),
    [
        (
            {"default": 50},
            {"default": 100},
            [
                "breaking: StatusReport default 50 -> 100",
                "breaking: GET /api/status query parameter msg_id default 50 -> 100",
            ],
        ),
        (
            {"default": 50},
            {},
            ["compatible: StatusReport default 50 removed"],
        ),
        (
            {"additionalProperties": False},
            {},
            ["compatible: StatusReport other fields (additional_properties): none -> any"],
        ),
        (
            {"additionalProperties": {"type": "integer"}},
            {"additionalProperties": STRING},
            ["breaking: StatusReport{*} type integer -> string"],
        ),
        (
            {"additionalProperties": {"type": "integer"}},
            {"additionalProperties": True},
            ["compatible: StatusReport other fields (additional_properties): integer -> any"],
        ),
    ],
)
def test_defaults_and_other_fields_changed_from_the_ref(
    repo: Path, before: dict[str, Any], after: dict[str, Any], lines: list[str]
) -> None:
    _diff(repo, _with(**before))
    _git(repo, "commit", "-qam", "before")
    out = _diff(repo, _with(**{**before, **after}) if after else lambda s: None)
    for line in lines:
        assert line in out, out


def test_webhook_payload_changes_are_classified(repo: Path) -> None:
    payload = {"type": "object", "required": ["id"], "properties": {"id": STRING}}
    body = {"content": {"application/json": {"schema": payload}}}
    base = copy.deepcopy(BASE)
    base["webhooks"] = {"dlr": {"post": {"requestBody": body, "responses": {"200": {}}}}}
    spec = repo / "specs" / "seven.yaml"
    spec.write_text(yaml.safe_dump(base))
    _git(repo, "commit", "-qam", "a webhook")
    payload["properties"] = {"status": STRING}
    spec.write_text(yaml.safe_dump(base))

    out = _run(repo, "seven")

    assert "breaking: webhook POST dlr request body field id removed" in out
    assert "compatible: webhook POST dlr request body new optional field status (string)" in out

    # A body of another type: what the SDK parses is gone (it read "no change").
    body["content"] = {"application/x-www-form-urlencoded": {"schema": payload}}
    spec.write_text(yaml.safe_dump(base))
    assert (
        "breaking: webhook POST dlr request body is read as unreadable "
        "(application/x-www-form-urlencoded), not json (application/json)"
    ) in _run(repo, "seven")


def test_a_response_gaining_a_body_is_a_compatible_change(repo: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        responses = spec["paths"]["/api/status"]["get"]["responses"]
        responses["403"] = {"description": "forbidden"}
        spec_file = repo / "specs" / "seven.yaml"
        spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))

    edit(base := copy.deepcopy(BASE))
    _git(repo, "commit", "-qam", "a 403 without a body")
    base["paths"]["/api/status"]["get"]["responses"]["403"]["content"] = {
        "application/json": {"schema": STRING}
    }
    (repo / "specs" / "seven.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    out = _run(repo, "seven")
    assert (
        "compatible: GET /api/status response 403 is read as json (application/json), not no body"
        in out
    )


RENAMED = "(its generated class and module are renamed)"


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        # The generator names a class by its `title`, else by the component's key: a title
        # added read "documentation changed", a patch (a review's find).
        (
            lambda s: _schemas(s)["StatusReport"].update(title="Report"),
            f"breaking: StatusReport title none -> Report {RENAMED}",
        ),
        (  # an enum is a class too
            lambda s: _schemas(s)["DeliveryStatus"].update(title="Status"),
            f"breaking: DeliveryStatus title none -> Status {RENAMED}",
        ),
        (  # an inline model: <parent><title or property name>
            lambda s: _schemas(s)["StatusReport"]["properties"]["meta"].update(title="Extra"),
            f"breaking: StatusReport.meta title none -> Extra {RENAMED}",
        ),
        (
            lambda s: _schemas(s)["StatusReport"]["properties"]["parts"]["items"].update(
                title="Part"
            ),
            f"breaking: StatusReport.parts[] title none -> Part {RENAMED}",
        ),
        (  # the same class name (PascalCase of either): no rename
            lambda s: _schemas(s)["StatusReport"].update(title="status report"),
            None,
        ),
        (  # a string is no class: its title is documentation
            lambda s: _schemas(s)["StatusReport"]["properties"]["id"].update(title="Message id"),
            None,
        ),
    ],
)
def test_a_title_that_renames_a_generated_class_is_breaking(
    repo: Path, edit: Callable[[dict[str, Any]], None], line: str | None
) -> None:
    def inline_models(spec: dict[str, Any]) -> None:
        properties = _schemas(spec)["StatusReport"]["properties"]
        properties["meta"] = {"type": "object", "properties": {"k": STRING}}
        properties["parts"] = {"type": "array", "items": {"type": "object"}}

    _diff(repo, inline_models)
    _git(repo, "commit", "-qam", "inline models")
    out = _diff(repo, lambda s: (inline_models(s), edit(s)))
    if line is None:
        assert out[0] == f"compatible: {spec_diff.DOCUMENTATION}", out
    else:
        assert out[:2] == [line, "classification: breaking"], out


def test_error_codes_added_or_removed_name_the_overlays_enum(repo: Path) -> None:
    # seven's `x-error-codes`: a code added read "documentation changed", and nothing said
    # SevenErrorCode / ERROR_CLASSES lacked it (a review's find).
    overlay = repo / "overlays" / "sms_status" / "providers" / "seven.py"
    overlay.parent.mkdir()
    shutil.copy(ROOT / "overlays" / "sms_status" / "providers" / "seven.py", overlay)
    codes = {"900": "invalid API key", "901": "invalid message id"}

    def error_codes(spec: dict[str, Any]) -> None:
        _schemas(spec)["ErrorCode"] = {"type": "integer", "x-error-codes": dict(codes)}

    _diff(repo, error_codes)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "error codes")
    codes["904"] = "account locked"
    out = _diff(repo, error_codes)
    assert out[:3] == [
        "compatible: ErrorCode error code 904 added (account locked; add it to the ErrorCode "
        "enum, and to ERROR_CLASSES unless a plain ApiError)",
        "classification: compatible",
        "proposed bump: sms-status-seven 0.1.0 -> 0.1.1",
    ]
    hint = (
        "error codes added or removed: add or remove each in SevenErrorCode / ERROR_CLASSES "
        "of overlays/sms_status/providers/seven.py"
    )
    assert hint in out
    del codes["904"], codes["901"]
    out = _diff(repo, error_codes)
    assert out[:2] == [
        "breaking: ErrorCode error code 901 removed (was invalid message id)",
        "classification: breaking",
    ]
    assert hint in out


def test_a_note_beside_the_finality_is_no_change_of_finality(repo: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        _schemas(spec)["DeliveryStatus"]["x-finality"]["DELIVERED"] = "final (assumed)"

    assert _diff(repo, edit)[:2] == [
        "compatible: documentation changed (descriptions, summaries, examples, or constraints "
        "the generated code does not check)",
        "classification: compatible",
    ]


def test_a_description_change_proposes_a_patch(repo: Path) -> None:
    # The generated docstrings move, so release_check asks a released client for a bump;
    # spec_diff proposed the same version, with no command (a review's find).
    def edit(spec: dict[str, Any]) -> None:
        _schemas(spec)["StatusReport"]["description"] = "One message's status."

    assert _diff(repo, edit)[:3] == [
        "compatible: documentation changed (descriptions, summaries, examples, or constraints "
        "the generated code does not check)",
        "classification: compatible",
        "proposed bump: sms-status-seven 0.1.0 -> 0.1.1",
    ]


def test_no_change_proposes_the_same_version(repo: Path) -> None:
    assert _run(repo, "seven") == [
        "classification: compatible",
        "proposed bump: sms-status-seven 0.1.0 -> 0.1.0",
    ]


def test_compares_with_the_given_ref(repo: Path) -> None:
    _diff(repo, lambda s: _schemas(s)["DeliveryStatus"]["enum"].append("SCHEDULED"))
    _git(repo, "commit", "-qam", "SCHEDULED")
    assert _run(repo, "seven")[0] == "classification: compatible"  # HEAD has it already
    assert _run(repo, "seven", "HEAD~1")[0] == "compatible: DeliveryStatus enum + SCHEDULED"


def test_a_bump_too_small_for_the_change_is_not_taken_for_done(repo: Path) -> None:
    # A breaking change with only a patch bump read "already bumped".
    (repo / "generator" / "seven.yaml").write_text('package_version_override: "0.1.1"\n')
    out = _diff(repo, lambda s: _schemas(s)["DeliveryStatus"]["enum"].remove("FAILED"))
    assert "proposed bump: sms-status-seven 0.1.0 -> 0.2.0" in out
    assert not any(line.startswith("already bumped") for line in out)
    assert any(
        line.startswith("bumped too little: generator/seven.yaml says 0.1.1") for line in out
    )


@pytest.mark.parametrize(
    ("spec", "says"),
    [(None, "missing from the working tree"), ("- a\n- list\n", "not an OpenAPI document")],
)
def test_a_spec_that_cannot_be_compared_is_one_line_and_exit_2(
    repo: Path, capsys: pytest.CaptureFixture[str], spec: str | None, says: str
) -> None:
    path = repo / "specs" / "seven.yaml"
    if spec is None:
        path.unlink()
    else:
        path.write_text(spec)
    assert spec_diff.main(["seven"], root=repo) == 2
    assert says in capsys.readouterr().err


def test_once_bumped_the_same_proposal_is_shown_not_a_second_bump(repo: Path) -> None:
    # After `bump` applied 0.1.1, it proposed 0.1.2 and drafted an entry for it.
    (repo / "generator" / "seven.yaml").write_text('package_version_override: "0.1.1"\n')
    out = _diff(repo, lambda s: _schemas(s)["DeliveryStatus"]["enum"].append("SCHEDULED"))
    assert "proposed bump: sms-status-seven 0.1.0 -> 0.1.1" in out
    assert "already bumped: generator/seven.yaml says 0.1.1" in out
    assert not any(line.startswith("to apply:") for line in out)
    assert "- sms-status-seven 0.1.1: specs/seven.yaml changed:" in out


def test_parameter_changes_are_listed_in_one_order(repo: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        for name in ("zeta", "alpha", "mid"):
            _status_params(spec).append({"name": name, "in": "query", "schema": STRING})

    added = [line for line in _diff(repo, edit) if line.startswith("compatible: GET")]
    assert added == [
        f"compatible: GET /api/status new optional query parameter {n}"
        for n in ("alpha", "mid", "zeta")
    ]


def test_a_spec_that_is_no_yaml_is_one_line_and_exit_2(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "specs" / "seven.yaml").write_text("paths: [unclosed\n")
    assert spec_diff.main(["seven"], root=repo) == 2
    assert capsys.readouterr().err.startswith("error: specs/seven.yaml is not valid YAML")


@pytest.mark.parametrize("argv", [["notaprovider"], ["seven", "no-such-ref"], []])
def test_bad_arguments_exit_2(repo: Path, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        spec_diff.main(argv, root=repo)
    assert exited.value.code == 2


def test_the_committed_specs_have_no_uncommitted_semantic_change_against_themselves() -> None:
    for key in spec_diff.provider_keys(ROOT):
        spec = yaml.safe_load((ROOT / "specs" / f"{key}.yaml").read_text())
        assert spec_diff.diff_specs(spec, copy.deepcopy(spec)).lines == []


def test_a_documentation_change_is_a_patch_after_1_0_too() -> None:
    # Any compatible change proposed a minor bump from 1.0 on: a description is a patch.
    docs = spec_diff.Changes([(spec_diff.COMPATIBLE, spec_diff.DOCUMENTATION)])
    assert spec_diff.propose("1.4.2", docs) == "1.4.3"
    field = spec_diff.Changes([(spec_diff.COMPATIBLE, "StatusReport new optional field x")])
    assert spec_diff.propose("1.4.2", field) == "1.5.0"

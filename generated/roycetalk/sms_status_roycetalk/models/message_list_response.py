from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="MessageListResponse")


@_attrs_define
class MessageListResponse:
    """INFERRED: message list in the assumed standard envelope; no schema is published. `data`
    may be a list of messages or a paginated object, so it is left untyped.

        Attributes:
            success (bool | Unset):
            data (Any | Unset): Messages (shape not published; possibly a list or a paginated object).
            message (str | Unset):
            meta (ResponseMeta | Unset):
            errors (list[Any] | Unset):
    """

    success: bool | Unset = UNSET
    data: Any | Unset = UNSET
    message: str | Unset = UNSET
    meta: ResponseMeta | Unset = UNSET
    errors: list[Any] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    OPEN_BY_SPEC = True
    """The spec says `additionalProperties: true`: keys it does not name are expected here."""

    def to_dict(self) -> dict[str, Any]:
        success = self.success

        data = self.data

        message = self.message

        meta: dict[str, Any] | Unset = UNSET
        if not isinstance(self.meta, Unset):
            meta = self.meta.to_dict()

        errors: list[Any] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = self.errors

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if success is not UNSET:
            field_dict["success"] = success
        if data is not UNSET:
            field_dict["data"] = data
        if message is not UNSET:
            field_dict["message"] = message
        if meta is not UNSET:
            field_dict["meta"] = meta
        if errors is not UNSET:
            field_dict["errors"] = errors

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        success = d.pop("success", UNSET)

        data = d.pop("data", UNSET)

        message = d.pop("message", UNSET)

        _meta = d.pop("meta", UNSET)
        meta: ResponseMeta | Unset
        if isinstance(_meta, Unset):
            meta = UNSET
        else:
            meta = ResponseMeta.from_dict(_meta)

        errors = cast(list[Any], d.pop("errors", UNSET))

        message_list_response = cls(
            success=success,
            data=data,
            message=message,
            meta=meta,
            errors=errors,
        )

        message_list_response.additional_properties = d
        return message_list_response

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties


from ..models.response_meta import ResponseMeta  # noqa: E402

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="MessageStatusWrapper")


@_attrs_define
class MessageStatusWrapper:
    """
    Attributes:
        message (MessageDetails): Message information object. The docs say every endpoint returns all of these
            fields; `sms` ("SMS-specific information") is left optional here because an RCS
            message may plausibly lack it.
    """

    message: MessageDetails
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message = self.message.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message": message,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        message = MessageDetails.from_dict(d.pop("message"))

        message_status_wrapper = cls(
            message=message,
        )

        message_status_wrapper.additional_properties = d
        return message_status_wrapper

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


from ..models.message_details import MessageDetails  # noqa: E402

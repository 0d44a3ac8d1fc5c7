from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.message_status import MessageStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="MessageDetails")


@_attrs_define
class MessageDetails:
    """
    Attributes:
        message_id (str):
        status (MessageStatus): Documented values and finality: `pending` (no), `sent` (no), `DELIVRD` (final),
            `UNDELIV` (final), `REJECTD` (final), `EXPIRED` (final), `UNKNOWN` (final), `failed`
            (final). `ENROUTE` exists internally (not final); messages stuck in `sent`/`ENROUTE`
            for 3+ days become `UNDELIV`. Upper-case values are SMPP 3.4 receipt states, so
            `ACCEPTD` (final), `DELETED` (final), `BUFFRED` (not final), `SYSERR` (final) and
            `FAILED` (final) may appear as well (`FAILED` is not listed in `enum`: it would clash
            with `failed` as a Python name). The set is open.
        telecom_message_id (None | str | Unset): Carrier-side id (deprecated on webhooks).
        recipient (None | str | Unset): E.164 phone number.
        segments (int | None | Unset):
        message (None | str | Unset): The message text.
        sender_id (None | str | Unset):
        status_code (None | str | Unset): Carrier status code, e.g. "000".
        cost (float | None | Unset):
        created_at (datetime.datetime | None | Unset):
        delivered_at (datetime.datetime | None | Unset):
    """

    message_id: str
    status: MessageStatus
    telecom_message_id: None | str | Unset = UNSET
    recipient: None | str | Unset = UNSET
    segments: int | None | Unset = UNSET
    message: None | str | Unset = UNSET
    sender_id: None | str | Unset = UNSET
    status_code: None | str | Unset = UNSET
    cost: float | None | Unset = UNSET
    created_at: datetime.datetime | None | Unset = UNSET
    delivered_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message_id = self.message_id

        status = self.status.value

        telecom_message_id: None | str | Unset
        if isinstance(self.telecom_message_id, Unset):
            telecom_message_id = UNSET
        else:
            telecom_message_id = self.telecom_message_id

        recipient: None | str | Unset
        if isinstance(self.recipient, Unset):
            recipient = UNSET
        else:
            recipient = self.recipient

        segments: int | None | Unset
        if isinstance(self.segments, Unset):
            segments = UNSET
        else:
            segments = self.segments

        message: None | str | Unset
        if isinstance(self.message, Unset):
            message = UNSET
        else:
            message = self.message

        sender_id: None | str | Unset
        if isinstance(self.sender_id, Unset):
            sender_id = UNSET
        else:
            sender_id = self.sender_id

        status_code: None | str | Unset
        if isinstance(self.status_code, Unset):
            status_code = UNSET
        else:
            status_code = self.status_code

        cost: float | None | Unset
        if isinstance(self.cost, Unset):
            cost = UNSET
        else:
            cost = self.cost

        created_at: None | str | Unset
        if isinstance(self.created_at, Unset):
            created_at = UNSET
        elif isinstance(self.created_at, datetime.datetime):
            created_at = self.created_at.isoformat()
        else:
            created_at = self.created_at

        delivered_at: None | str | Unset
        if isinstance(self.delivered_at, Unset):
            delivered_at = UNSET
        elif isinstance(self.delivered_at, datetime.datetime):
            delivered_at = self.delivered_at.isoformat()
        else:
            delivered_at = self.delivered_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message_id": message_id,
                "status": status,
            }
        )
        if telecom_message_id is not UNSET:
            field_dict["telecom_message_id"] = telecom_message_id
        if recipient is not UNSET:
            field_dict["recipient"] = recipient
        if segments is not UNSET:
            field_dict["segments"] = segments
        if message is not UNSET:
            field_dict["message"] = message
        if sender_id is not UNSET:
            field_dict["sender_id"] = sender_id
        if status_code is not UNSET:
            field_dict["status_code"] = status_code
        if cost is not UNSET:
            field_dict["cost"] = cost
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if delivered_at is not UNSET:
            field_dict["delivered_at"] = delivered_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        message_id = d.pop("message_id")

        status = MessageStatus(d.pop("status"))

        telecom_message_id: None | str | Unset = d.pop("telecom_message_id", UNSET)

        recipient: None | str | Unset = d.pop("recipient", UNSET)

        segments: int | None | Unset = d.pop("segments", UNSET)

        message: None | str | Unset = d.pop("message", UNSET)

        sender_id: None | str | Unset = d.pop("sender_id", UNSET)

        status_code: None | str | Unset = d.pop("status_code", UNSET)

        cost: float | None | Unset = d.pop("cost", UNSET)

        def _parse_created_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                created_at_type_0 = datetime.datetime.fromisoformat(data)

                return created_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        created_at = _parse_created_at(d.pop("created_at", UNSET))

        def _parse_delivered_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                delivered_at_type_0 = datetime.datetime.fromisoformat(data)

                return delivered_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        delivered_at = _parse_delivered_at(d.pop("delivered_at", UNSET))

        message_details = cls(
            message_id=message_id,
            status=status,
            telecom_message_id=telecom_message_id,
            recipient=recipient,
            segments=segments,
            message=message,
            sender_id=sender_id,
            status_code=status_code,
            cost=cost,
            created_at=created_at,
            delivered_at=delivered_at,
        )

        message_details.additional_properties = d
        return message_details

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

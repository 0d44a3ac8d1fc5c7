from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.message_status import MessageStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="DeliveryWebhook")


@_attrs_define
class DeliveryWebhook:
    """Body of the delivery webhook (docs …/webhooks/delivery). `status` is one of DELIVRD,
    UNDELIV, REJECTD, EXPIRED, UNKNOWN (the same vocabulary as the status endpoint).

        Attributes:
            message_id (str):
            status (MessageStatus): Documented values and finality: `pending` (no), `sent` (no), `DELIVRD` (final),
                `UNDELIV` (final), `REJECTD` (final), `EXPIRED` (final), `UNKNOWN` (final), `failed`
                (final). `ENROUTE` exists internally (not final); messages stuck in `sent`/`ENROUTE`
                for 3+ days become `UNDELIV`. Upper-case values are SMPP 3.4 receipt states, so
                `ACCEPTD` (final), `DELETED` (final), `BUFFRED` (not final), `SYSERR` (final) and
                `FAILED` (final) may appear as well (`FAILED` is not listed in `enum`: it would clash
                with `failed` as a Python name). The set is open.
            recipient (None | str | Unset): E.164 phone number.
            sender_id (None | str | Unset):
            status_code (None | str | Unset): Carrier status code, e.g. "000".
            num_parts (int | None | Unset): SMS parts (the status endpoint's `segments`).
            cost (float | None | Unset):
            timestamp (datetime.datetime | None | Unset): When the status was set.
            telecom_message_id (None | str | Unset):
            workspace_id (None | str | Unset):
    """

    message_id: str
    status: MessageStatus
    recipient: None | str | Unset = UNSET
    sender_id: None | str | Unset = UNSET
    status_code: None | str | Unset = UNSET
    num_parts: int | None | Unset = UNSET
    cost: float | None | Unset = UNSET
    timestamp: datetime.datetime | None | Unset = UNSET
    telecom_message_id: None | str | Unset = UNSET
    workspace_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message_id = self.message_id

        status = self.status.value

        recipient: None | str | Unset
        if isinstance(self.recipient, Unset):
            recipient = UNSET
        else:
            recipient = self.recipient

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

        num_parts: int | None | Unset
        if isinstance(self.num_parts, Unset):
            num_parts = UNSET
        else:
            num_parts = self.num_parts

        cost: float | None | Unset
        if isinstance(self.cost, Unset):
            cost = UNSET
        else:
            cost = self.cost

        timestamp: None | str | Unset
        if isinstance(self.timestamp, Unset):
            timestamp = UNSET
        elif isinstance(self.timestamp, datetime.datetime):
            timestamp = self.timestamp.isoformat()
        else:
            timestamp = self.timestamp

        telecom_message_id: None | str | Unset
        if isinstance(self.telecom_message_id, Unset):
            telecom_message_id = UNSET
        else:
            telecom_message_id = self.telecom_message_id

        workspace_id: None | str | Unset
        if isinstance(self.workspace_id, Unset):
            workspace_id = UNSET
        else:
            workspace_id = self.workspace_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message_id": message_id,
                "status": status,
            }
        )
        if recipient is not UNSET:
            field_dict["recipient"] = recipient
        if sender_id is not UNSET:
            field_dict["sender_id"] = sender_id
        if status_code is not UNSET:
            field_dict["status_code"] = status_code
        if num_parts is not UNSET:
            field_dict["num_parts"] = num_parts
        if cost is not UNSET:
            field_dict["cost"] = cost
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if telecom_message_id is not UNSET:
            field_dict["telecom_message_id"] = telecom_message_id
        if workspace_id is not UNSET:
            field_dict["workspace_id"] = workspace_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        message_id = d.pop("message_id")

        status = MessageStatus(d.pop("status"))

        recipient: None | str | Unset = d.pop("recipient", UNSET)

        sender_id: None | str | Unset = d.pop("sender_id", UNSET)

        status_code: None | str | Unset = d.pop("status_code", UNSET)

        num_parts: int | None | Unset = d.pop("num_parts", UNSET)

        cost: float | None | Unset = d.pop("cost", UNSET)

        def _parse_timestamp(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                timestamp_type_0 = datetime.datetime.fromisoformat(data)

                return timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        timestamp = _parse_timestamp(d.pop("timestamp", UNSET))

        telecom_message_id: None | str | Unset = d.pop("telecom_message_id", UNSET)

        workspace_id: None | str | Unset = d.pop("workspace_id", UNSET)

        delivery_webhook = cls(
            message_id=message_id,
            status=status,
            recipient=recipient,
            sender_id=sender_id,
            status_code=status_code,
            num_parts=num_parts,
            cost=cost,
            timestamp=timestamp,
            telecom_message_id=telecom_message_id,
            workspace_id=workspace_id,
        )

        delivery_webhook.additional_properties = d
        return delivery_webhook

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

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
        id (str): The message ID (a UUID).
        status (MessageStatus): Message status lifecycle, with finality: `pending` (queued, awaiting processing; not
            final), `sent` (submitted to carrier, delivery in progress; not final), `delivered`
            (final), `failed` (final: invalid number, network issue, etc.), `rejected` (final:
            blocked number, spam filter, etc.). The set is open.
        recipient_phone (str | Unset): E.164 phone number, e.g. "+254712345678".
        message_text (str | Unset):
        sender_id (str | Unset):
        status_display (str | Unset): Human-readable status, e.g. "Delivered".
        sms_units_consumed (int | Unset):
        created_at (datetime.datetime | Unset): When the message was created/queued in the system.
        sent_at (datetime.datetime | None | Unset): When the message was submitted to the carrier (null if still
            pending).
        delivered_at (datetime.datetime | None | Unset): When the message was delivered to the recipient (null if not
            yet delivered).
        provider_message_id (None | str | Unset): Carrier's unique ID for this message (for carrier support inquiries).
        provider_response_description (None | str | Unset): The carrier's response, e.g. "Success"; review it when
            `failed` or `rejected`.
        metadata (MessageMetadata | Unset): Your custom data (callback_url, client_ref) provided when sending.
    """

    id: str
    status: MessageStatus
    recipient_phone: str | Unset = UNSET
    message_text: str | Unset = UNSET
    sender_id: str | Unset = UNSET
    status_display: str | Unset = UNSET
    sms_units_consumed: int | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    sent_at: datetime.datetime | None | Unset = UNSET
    delivered_at: datetime.datetime | None | Unset = UNSET
    provider_message_id: None | str | Unset = UNSET
    provider_response_description: None | str | Unset = UNSET
    metadata: MessageMetadata | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        recipient_phone = self.recipient_phone

        message_text = self.message_text

        sender_id = self.sender_id

        status_display = self.status_display

        sms_units_consumed = self.sms_units_consumed

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        sent_at: None | str | Unset
        if isinstance(self.sent_at, Unset):
            sent_at = UNSET
        elif isinstance(self.sent_at, datetime.datetime):
            sent_at = self.sent_at.isoformat()
        else:
            sent_at = self.sent_at

        delivered_at: None | str | Unset
        if isinstance(self.delivered_at, Unset):
            delivered_at = UNSET
        elif isinstance(self.delivered_at, datetime.datetime):
            delivered_at = self.delivered_at.isoformat()
        else:
            delivered_at = self.delivered_at

        provider_message_id: None | str | Unset
        if isinstance(self.provider_message_id, Unset):
            provider_message_id = UNSET
        else:
            provider_message_id = self.provider_message_id

        provider_response_description: None | str | Unset
        if isinstance(self.provider_response_description, Unset):
            provider_response_description = UNSET
        else:
            provider_response_description = self.provider_response_description

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
            }
        )
        if recipient_phone is not UNSET:
            field_dict["recipient_phone"] = recipient_phone
        if message_text is not UNSET:
            field_dict["message_text"] = message_text
        if sender_id is not UNSET:
            field_dict["sender_id"] = sender_id
        if status_display is not UNSET:
            field_dict["status_display"] = status_display
        if sms_units_consumed is not UNSET:
            field_dict["sms_units_consumed"] = sms_units_consumed
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if sent_at is not UNSET:
            field_dict["sent_at"] = sent_at
        if delivered_at is not UNSET:
            field_dict["delivered_at"] = delivered_at
        if provider_message_id is not UNSET:
            field_dict["provider_message_id"] = provider_message_id
        if provider_response_description is not UNSET:
            field_dict["provider_response_description"] = provider_response_description
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        status = MessageStatus(d.pop("status"))

        recipient_phone = d.pop("recipient_phone", UNSET)

        message_text = d.pop("message_text", UNSET)

        sender_id = d.pop("sender_id", UNSET)

        status_display = d.pop("status_display", UNSET)

        sms_units_consumed = d.pop("sms_units_consumed", UNSET)

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        def _parse_sent_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                sent_at_type_0 = datetime.datetime.fromisoformat(data)

                return sent_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        sent_at = _parse_sent_at(d.pop("sent_at", UNSET))

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

        provider_message_id: None | str | Unset = d.pop("provider_message_id", UNSET)

        provider_response_description: None | str | Unset = d.pop("provider_response_description", UNSET)

        _metadata = d.pop("metadata", UNSET)
        metadata: MessageMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = MessageMetadata.from_dict(_metadata)

        message_details = cls(
            id=id,
            status=status,
            recipient_phone=recipient_phone,
            message_text=message_text,
            sender_id=sender_id,
            status_display=status_display,
            sms_units_consumed=sms_units_consumed,
            created_at=created_at,
            sent_at=sent_at,
            delivered_at=delivered_at,
            provider_message_id=provider_message_id,
            provider_response_description=provider_response_description,
            metadata=metadata,
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


from ..models.message_metadata import MessageMetadata  # noqa: E402

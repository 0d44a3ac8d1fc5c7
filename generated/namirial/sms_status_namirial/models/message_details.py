from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.channel import Channel
from ..models.message_status import MessageStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="MessageDetails")


@_attrs_define
class MessageDetails:
    """Message information object. The docs say every endpoint returns all of these
    fields; `sms` ("SMS-specific information") is left optional here because an RCS
    message may plausibly lack it.

        Attributes:
            id (str): Message identifier (UUID).
            provider_acceptance_at (datetime.datetime): Timestamp when the message was accepted by the provider (ISO 8601,
                e.g.
                2026-02-12T14:51:00Z). Corresponds to the initial PROVIDER_ACCEPTANCE status.
            status_changed_at (datetime.datetime): Timestamp of the most recent status change (ISO 8601, e.g.
                2026-02-12T14:51:05Z).
            reference (Reference): Reference object specified in the send request. May be an empty object (`{}`) if no
                reference was provided.
            channel (Channel): Delivery channel.
            status (MessageStatus): Current delivery status. Documented values and finality:
                `PROVIDER_ACCEPTANCE` request accepted by the provider (initial state; not final; no
                webhook is sent for it), `SENT` request sent by the provider (not final),
                `DELIVERED` message delivered to the handset (final on SMS; on RCS it may later
                become `READ`), `REJECTED` request rejected by the provider, not sent (final),
                `UNDELIVERED` message failed to deliver (final), `READ` (RCS only) message read by
                recipient (final). The set is open.
            provider (ProviderInfo): Provider information.
            sms (SmsInfo | Unset): SMS-specific information.
    """

    id: str
    provider_acceptance_at: datetime.datetime
    status_changed_at: datetime.datetime
    reference: Reference
    channel: Channel
    status: MessageStatus
    provider: ProviderInfo
    sms: SmsInfo | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        provider_acceptance_at = self.provider_acceptance_at.isoformat()

        status_changed_at = self.status_changed_at.isoformat()

        reference = self.reference.to_dict()

        channel = self.channel.value

        status = self.status.value

        provider = self.provider.to_dict()

        sms: dict[str, Any] | Unset = UNSET
        if not isinstance(self.sms, Unset):
            sms = self.sms.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "providerAcceptanceAt": provider_acceptance_at,
                "statusChangedAt": status_changed_at,
                "reference": reference,
                "channel": channel,
                "status": status,
                "provider": provider,
            }
        )
        if sms is not UNSET:
            field_dict["sms"] = sms

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        provider_acceptance_at = datetime.datetime.fromisoformat(d.pop("providerAcceptanceAt"))

        status_changed_at = datetime.datetime.fromisoformat(d.pop("statusChangedAt"))

        reference = Reference.from_dict(d.pop("reference"))

        channel = Channel(d.pop("channel"))

        status = MessageStatus(d.pop("status"))

        provider = ProviderInfo.from_dict(d.pop("provider"))

        _sms = d.pop("sms", UNSET)
        sms: SmsInfo | Unset
        if isinstance(_sms, Unset):
            sms = UNSET
        else:
            sms = SmsInfo.from_dict(_sms)

        message_details = cls(
            id=id,
            provider_acceptance_at=provider_acceptance_at,
            status_changed_at=status_changed_at,
            reference=reference,
            channel=channel,
            status=status,
            provider=provider,
            sms=sms,
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


from ..models.provider_info import ProviderInfo  # noqa: E402
from ..models.reference import Reference  # noqa: E402
from ..models.sms_info import SmsInfo  # noqa: E402

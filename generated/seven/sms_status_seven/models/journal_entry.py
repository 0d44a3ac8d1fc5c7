from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="JournalEntry")


@_attrs_define
class JournalEntry:
    """One sent message in the logbook. seven's own document types every field as a string
    and requires none; `id` is required here because an entry without it cannot be
    matched to the message asked for.

        Attributes:
            id (str): The message id (numeric, sent as a string).
            from_ (None | str | Unset): The sender.
            to (None | str | Unset): The recipient.
            text (None | str | Unset): The message text.
            timestamp (None | str | Unset): When it was sent, `YYYY-MM-DD HH:MM:SS` in seven's local time (as
                `status_time`).
            price (None | str | Unset): The price in the account's currency, as a decimal string (e.g. "0.075").
            dlr (None | str | Unset): The delivery report: the `DeliveryStatus` values (open set); null or absent
                before the first report.
            dlr_timestamp (None | str | Unset): When the delivery report arrived, formatted like `status_time`.
            mccmnc (None | str | Unset): Mobile country code and network code of the recipient's network.
            latency (None | str | Unset): Delivery latency.
            type_ (None | str | Unset): The SMS type.
            connection (None | str | Unset): The connection type (e.g. http).
            label (None | str | Unset): The label given at sending.
            foreign_id (None | str | Unset): The foreign id given at sending.
            channel (None | str | Unset): The channel used (e.g. SMS).
    """

    id: str
    from_: None | str | Unset = UNSET
    to: None | str | Unset = UNSET
    text: None | str | Unset = UNSET
    timestamp: None | str | Unset = UNSET
    price: None | str | Unset = UNSET
    dlr: None | str | Unset = UNSET
    dlr_timestamp: None | str | Unset = UNSET
    mccmnc: None | str | Unset = UNSET
    latency: None | str | Unset = UNSET
    type_: None | str | Unset = UNSET
    connection: None | str | Unset = UNSET
    label: None | str | Unset = UNSET
    foreign_id: None | str | Unset = UNSET
    channel: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        from_: None | str | Unset
        if isinstance(self.from_, Unset):
            from_ = UNSET
        else:
            from_ = self.from_

        to: None | str | Unset
        if isinstance(self.to, Unset):
            to = UNSET
        else:
            to = self.to

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        timestamp: None | str | Unset
        if isinstance(self.timestamp, Unset):
            timestamp = UNSET
        else:
            timestamp = self.timestamp

        price: None | str | Unset
        if isinstance(self.price, Unset):
            price = UNSET
        else:
            price = self.price

        dlr: None | str | Unset
        if isinstance(self.dlr, Unset):
            dlr = UNSET
        else:
            dlr = self.dlr

        dlr_timestamp: None | str | Unset
        if isinstance(self.dlr_timestamp, Unset):
            dlr_timestamp = UNSET
        else:
            dlr_timestamp = self.dlr_timestamp

        mccmnc: None | str | Unset
        if isinstance(self.mccmnc, Unset):
            mccmnc = UNSET
        else:
            mccmnc = self.mccmnc

        latency: None | str | Unset
        if isinstance(self.latency, Unset):
            latency = UNSET
        else:
            latency = self.latency

        type_: None | str | Unset
        if isinstance(self.type_, Unset):
            type_ = UNSET
        else:
            type_ = self.type_

        connection: None | str | Unset
        if isinstance(self.connection, Unset):
            connection = UNSET
        else:
            connection = self.connection

        label: None | str | Unset
        if isinstance(self.label, Unset):
            label = UNSET
        else:
            label = self.label

        foreign_id: None | str | Unset
        if isinstance(self.foreign_id, Unset):
            foreign_id = UNSET
        else:
            foreign_id = self.foreign_id

        channel: None | str | Unset
        if isinstance(self.channel, Unset):
            channel = UNSET
        else:
            channel = self.channel

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
            }
        )
        if from_ is not UNSET:
            field_dict["from"] = from_
        if to is not UNSET:
            field_dict["to"] = to
        if text is not UNSET:
            field_dict["text"] = text
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if price is not UNSET:
            field_dict["price"] = price
        if dlr is not UNSET:
            field_dict["dlr"] = dlr
        if dlr_timestamp is not UNSET:
            field_dict["dlr_timestamp"] = dlr_timestamp
        if mccmnc is not UNSET:
            field_dict["mccmnc"] = mccmnc
        if latency is not UNSET:
            field_dict["latency"] = latency
        if type_ is not UNSET:
            field_dict["type"] = type_
        if connection is not UNSET:
            field_dict["connection"] = connection
        if label is not UNSET:
            field_dict["label"] = label
        if foreign_id is not UNSET:
            field_dict["foreign_id"] = foreign_id
        if channel is not UNSET:
            field_dict["channel"] = channel

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        from_: None | str | Unset = d.pop("from", UNSET)

        to: None | str | Unset = d.pop("to", UNSET)

        text: None | str | Unset = d.pop("text", UNSET)

        timestamp: None | str | Unset = d.pop("timestamp", UNSET)

        price: None | str | Unset = d.pop("price", UNSET)

        dlr: None | str | Unset = d.pop("dlr", UNSET)

        dlr_timestamp: None | str | Unset = d.pop("dlr_timestamp", UNSET)

        mccmnc: None | str | Unset = d.pop("mccmnc", UNSET)

        latency: None | str | Unset = d.pop("latency", UNSET)

        type_: None | str | Unset = d.pop("type", UNSET)

        connection: None | str | Unset = d.pop("connection", UNSET)

        label: None | str | Unset = d.pop("label", UNSET)

        foreign_id: None | str | Unset = d.pop("foreign_id", UNSET)

        channel: None | str | Unset = d.pop("channel", UNSET)

        journal_entry = cls(
            id=id,
            from_=from_,
            to=to,
            text=text,
            timestamp=timestamp,
            price=price,
            dlr=dlr,
            dlr_timestamp=dlr_timestamp,
            mccmnc=mccmnc,
            latency=latency,
            type_=type_,
            connection=connection,
            label=label,
            foreign_id=foreign_id,
            channel=channel,
        )

        journal_entry.additional_properties = d
        return journal_entry

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

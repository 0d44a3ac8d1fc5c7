from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ErrorEnvelope")


@_attrs_define
class ErrorEnvelope:
    """The common error envelope. Match on `error_code` (a 4-digit string; an open set),
    never on `message`, which is localised by `Accept-Language`. Ranges:
    1001–1005 authentication (1001 INVALID_APP_KEY, 1004 APP_SUSPENDED);
    1101–1110 validation; 1201–1205 business (1202 INSUFFICIENT_BALANCE);
    1301–1305 security (1301 RATE_LIMIT_EXCEEDED, 1302 SUSPICIOUS_ACTIVITY);
    1401–1405 server; 1501–1505 carrier.

        Attributes:
            error_code (str): 4-digit code, e.g. "1001".
            success (bool | Unset): Always false.
            status_code (int | Unset): Echoes the HTTP status.
            message (str | Unset): Human-readable, localised by `Accept-Language`.
            details (list[ErrorDetail] | None | Unset): Further details (e.g. per-field validation problems), or null. The
                item shape is
                not published; items are modelled as permissive objects.
            timestamp (str | Unset): When the error occurred (format not published).
            request_id (str | Unset):
            retryable (bool | Unset):
            retry_after (int | None | Unset): Seconds to wait before retrying (set on 429), else null.
    """

    error_code: str
    success: bool | Unset = UNSET
    status_code: int | Unset = UNSET
    message: str | Unset = UNSET
    details: list[ErrorDetail] | None | Unset = UNSET
    timestamp: str | Unset = UNSET
    request_id: str | Unset = UNSET
    retryable: bool | Unset = UNSET
    retry_after: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)
    OPEN_BY_SPEC = True
    """The spec says `additionalProperties: true`: keys it does not name are expected here."""

    def to_dict(self) -> dict[str, Any]:
        error_code = self.error_code

        success = self.success

        status_code = self.status_code

        message = self.message

        details: list[dict[str, Any]] | None | Unset
        if isinstance(self.details, Unset):
            details = UNSET
        elif isinstance(self.details, list):
            details = []
            for details_type_0_item_data in self.details:
                details_type_0_item = details_type_0_item_data.to_dict()
                details.append(details_type_0_item)

        else:
            details = self.details

        timestamp = self.timestamp

        request_id = self.request_id

        retryable = self.retryable

        retry_after: int | None | Unset
        if isinstance(self.retry_after, Unset):
            retry_after = UNSET
        else:
            retry_after = self.retry_after

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error_code": error_code,
            }
        )
        if success is not UNSET:
            field_dict["success"] = success
        if status_code is not UNSET:
            field_dict["status_code"] = status_code
        if message is not UNSET:
            field_dict["message"] = message
        if details is not UNSET:
            field_dict["details"] = details
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if retryable is not UNSET:
            field_dict["retryable"] = retryable
        if retry_after is not UNSET:
            field_dict["retry_after"] = retry_after

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        error_code = d.pop("error_code")

        success = d.pop("success", UNSET)

        status_code = d.pop("status_code", UNSET)

        message = d.pop("message", UNSET)

        def _parse_details(data: object) -> list[ErrorDetail] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                details_type_0 = []
                _details_type_0 = data
                for details_type_0_item_data in _details_type_0:
                    details_type_0_item = ErrorDetail.from_dict(details_type_0_item_data)

                    details_type_0.append(details_type_0_item)

                return details_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[ErrorDetail] | None | Unset, data)

        details = _parse_details(d.pop("details", UNSET))

        timestamp = d.pop("timestamp", UNSET)

        request_id = d.pop("request_id", UNSET)

        retryable = d.pop("retryable", UNSET)

        retry_after: int | None | Unset = d.pop("retry_after", UNSET)

        error_envelope = cls(
            error_code=error_code,
            success=success,
            status_code=status_code,
            message=message,
            details=details,
            timestamp=timestamp,
            request_id=request_id,
            retryable=retryable,
            retry_after=retry_after,
        )

        error_envelope.additional_properties = d
        return error_envelope

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


from ..models.error_detail import ErrorDetail  # noqa: E402

"""The national database of administrative procedures (CSDL quốc gia về TTHC): register the province's
decision công bố and link the province's procedures to it.

JSON API ``/csdl/api/v1/quyet-dinh-cong-bo`` (Bearer token). The record's natural key is its số hiệu:
``find`` looks it up, a duplicate create is answered 409 with the existing id (adopted). Records are
never withdrawn: a later decision abolishing a procedure is a record of its own.
"""

from __future__ import annotations

from typing import Any

import requests

from tthc.catalogue.keys import announcement_key
from tthc.sync.channels.base import (
    Channel,
    ChannelObject,
    HttpJsonClient,
    Published,
    RejectedError,
    RemoteObject,
    digest_of,
)

PATH = "/csdl/api/v1/quyet-dinh-cong-bo"
FIELDS = ("so_hieu", "ngay_ky", "co_quan", "thu_tuc")


def shown_digest(fields: dict[str, Any]) -> str:
    return digest_of({k: fields.get(k) for k in FIELDS})


class CsdlChannel(Channel):
    name = "csdl"
    label = "CSDL quốc gia về TTHC"

    def __init__(self, base_url: str, token: str, co_quan: str, session: requests.Session | None = None,
                 timeout: float = 30.0, conn_id: str = "tthc_csdl") -> None:
        self.http = HttpJsonClient("CSDL quốc gia", base_url, token, session, conn_id, timeout)
        self.co_quan = co_quan  # whose records are ours ("Ủy ban nhân dân Thành phố Hồ Chí Minh")

    def expected_digest(self, obj: ChannelObject) -> str:
        return shown_digest(obj.fields)

    @staticmethod
    def _published(record: dict[str, Any]) -> Published:
        return Published(str(record["id"]), record.get("url"))

    def find(self, obj: ChannelObject) -> Published | None:
        found = self.http.json("GET", PATH, params={"so_hieu": obj.fields["so_hieu"]})
        mine = [r for r in found if r.get("co_quan") == self.co_quan]
        return self._published(mine[0]) if mine else None

    def create(self, obj: ChannelObject) -> Published:
        response = self.http.call("POST", PATH, json=obj.fields, ok_statuses=(409,))
        if response.status_code == 409:
            existing = response.json().get("id")
            if existing is None:
                raise RejectedError("CSDL quốc gia: 409 without the existing id")
            return self.update(str(existing), obj)
        return self._published(response.json())

    def update(self, external_id: str, obj: ChannelObject) -> Published:
        body = {k: v for k, v in obj.fields.items() if k != "so_hieu"} | {"so_hieu": obj.fields["so_hieu"]}
        return self._published(self.http.json("PUT", f"{PATH}/{external_id}", json=body))

    def withdraw(self, external_id: str, obj: ChannelObject) -> Published:
        raise RejectedError("CSDL quốc gia: a registered decision is never withdrawn")

    def list_owned(self) -> list[RemoteObject]:
        out = []
        for record in self.http.json("GET", PATH):
            if record.get("co_quan") != self.co_quan:
                continue
            key = announcement_key(record["so_hieu"], str(record.get("ngay_ky", "")))
            out.append(RemoteObject(key, str(record["id"]), True, shown_digest(record), record.get("url")))
        return out

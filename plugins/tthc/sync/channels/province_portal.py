"""The provincial public-service portal's procedure catalogue (Cổng dịch vụ công cấp tỉnh).

JSON API ``/dvc-tinh/api/v1/thu-tuc`` (Bearer token): create a procedure for the province (with its
implementing agency, levels and the announcing decision), update it, withdraw it (``/thu-hoi``) when
abolished. Our idempotency key is the record's ``ma_ngoai`` (external id), unique on the portal: a
create that reaches the portal twice is answered 409 with the existing id, which we adopt.
"""

from __future__ import annotations

from typing import Any

import requests

from tthc.sync.channels.base import (
    Channel,
    ChannelObject,
    HttpJsonClient,
    Published,
    RejectedError,
    RemoteObject,
    digest_of,
)

PATH = "/dvc-tinh/api/v1/thu-tuc"
# the fields we send and read back (the digest is over these, as the portal shows them)
FIELDS = ("ma_ngoai", "ma_thu_tuc", "ten_thu_tuc", "linh_vuc", "cap_thuc_hien", "co_quan_thuc_hien",
          "quyet_dinh_cong_bo", "noi_dung")
PAGE_SIZE = 200


def shown_digest(fields: dict[str, Any], live: bool) -> str:
    return digest_of({"fields": {k: fields.get(k) for k in FIELDS}, "live": live})


class ProvincePortalChannel(Channel):
    name = "province_portal"
    label = "Cổng dịch vụ công cấp tỉnh"

    def __init__(self, base_url: str, token: str, session: requests.Session | None = None,
                 timeout: float = 30.0, conn_id: str = "tthc_province_portal") -> None:
        self.http = HttpJsonClient("Cổng DVC tỉnh", base_url, token, session, conn_id, timeout)

    def expected_digest(self, obj: ChannelObject) -> str:
        return shown_digest(obj.fields, not obj.withdrawn)

    @staticmethod
    def _published(record: dict[str, Any]) -> Published:
        return Published(str(record["id"]), record.get("url"))

    def find(self, obj: ChannelObject) -> Published | None:
        found = self.http.json("GET", PATH, params={"ma_ngoai": obj.key})
        items = found.get("items", [])
        return self._published(items[0]) if items else None

    def create(self, obj: ChannelObject) -> Published:
        response = self.http.call("POST", PATH, json=obj.fields, ok_statuses=(409,))
        if response.status_code == 409:  # created by an earlier attempt whose answer we lost
            existing = response.json().get("id")
            if existing is None:
                raise RejectedError("Cổng DVC tỉnh: 409 without the existing id")
            record = self.update(str(existing), obj)
        else:
            record = self._published(response.json())
        if obj.withdrawn:
            return self.withdraw(record.external_id, obj)
        return record

    def update(self, external_id: str, obj: ChannelObject) -> Published:
        return self._published(self.http.json("PUT", f"{PATH}/{external_id}", json=obj.fields))

    def withdraw(self, external_id: str, obj: ChannelObject) -> Published:
        decision = obj.fields.get("quyet_dinh_cong_bo")
        if not decision:
            raise RejectedError(f"Cổng DVC tỉnh: withdrawing {obj.key} needs the decision that abolished it")
        body = {"ly_do": obj.reason or "Bãi bỏ theo quyết định công bố", "quyet_dinh_cong_bo": decision}
        return self._published(self.http.json("POST", f"{PATH}/{external_id}/thu-hoi", json=body))

    def list_owned(self) -> list[RemoteObject]:
        out, page = [], 1
        while True:
            data = self.http.json("GET", PATH, params={"page": page, "page_size": PAGE_SIZE})
            for record in data.get("items", []):
                if not record.get("ma_ngoai"):
                    continue
                live = record.get("trang_thai") == "dang_ap_dung"
                out.append(RemoteObject(record["ma_ngoai"], str(record["id"]), live, shown_digest(record, live),
                                        record.get("url")))
            if page * PAGE_SIZE >= int(data.get("total", 0)):
                return out
            page += 1

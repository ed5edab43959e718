"""The provinces' own rows of the national decision list: generated, seeded, in the real shapes.

The real list (``../shared/reference/national-portal/decisions/decision_publishment_advanced_search_
service_v2.json``, December 2025) mixes the ministries' decisions with the 34 provinces' People's
Committees' own announcement decisions, under the agency names and ids of ``get_list_agency_service_v2``
("UBND tỉnh Thanh Hóa", "UBND Thành phố Hồ Chí Minh"). The shapes copied from it:

- a province **re-publishing** a ministry decision for its territory: the ministry's CODE and NAME under
  the province's agency, the same day or later (``4063/QĐ-BKHCN | UBND Thành phố Cần Thơ``);
- a province's **own decision** (``2998/QĐ-VP``, ``2991/QĐ-UBND``) a day to weeks after the ministry's,
  whose trích yếu names the field and sometimes the legal text it follows ("... quy định tại Thông tư số
  44/2025/TT-BYT ..."); CODEs with a stray trailing dot (``2193/QĐ-UBND.``), leading zeros
  (``02245/QĐ-UBND``) or the date appended (``2226/QĐ-UBND ngày 04/12/2025``);
- most provincial decisions **cite nothing** the matcher could use, and many are about other fields.

What is generated from each ministry decision of the demo data (seeded, so every run serves the same
rows): each of the other 33 provinces announces it with probability ``ANNOUNCE_RATE``, after a lag drawn
from a log-normal distribution (median about ``MEDIAN_LAG_DAYS`` days) scaled by the province's own speed;
as a re-publication (``REPUBLISH_RATE``), as its own decision citing the ministry's số hiệu in one of the
written variants (QĐ/QD, spaces, lower case, "ngày …"), as its own decision citing only the number without
the issuing code (ambiguous: the matcher leaves it out and counts it), or citing nothing. Plus unrelated
provincial decisions of other fields.

The department's own province (``OWN_PROVINCE``) is not generated: its row appears once the pipeline has
pushed its approved decision to the sandbox's CSDL endpoint (:func:`own_decisions`), ``lag_days`` after
the decision's signing date (None: never — the province's office never entered it).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tthc_dev.sandbox.data import Decision, Item, _attachment_id, casefold_key

PROVINCE_SEED = 20251208
ANNOUNCE_RATE = 0.6
REPUBLISH_RATE = 0.15
CITE_RATE = 0.5  # of the provinces' own decisions: the trích yếu cites the ministry's số hiệu
AMBIGUOUS_RATE = 0.06  # cites "Quyết định số N" without the issuing code
MEDIAN_LAG_DAYS = 18
OWN_PROVINCE = "UBND Thành phố Hồ Chí Minh"
DEFAULT_OWN_LAG_DAYS = 3
FIRST_PROVINCIAL_ID = 200001
FIRST_OWN_ID = 300001

# The 34 provincial-level People's Committees since 1 July 2025 (name and AGENCY_ID as the national
# portal's agency list names them).
PROVINCES: tuple[tuple[str, str], ...] = (
    ("UBND Thành phố Cần Thơ", "409587"), ("UBND Thành phố Đà Nẵng", "426100"),
    ("UBND Thành phố Hồ Chí Minh", "411312"), ("UBND Thành phố Hà Nội", "389181"),
    ("UBND Thành phố Hải Phòng", "387628"), ("UBND Thành phố Huế", "374087"),
    ("UBND tỉnh An Giang", "398126"), ("UBND tỉnh Bắc Ninh", "401621"), ("UBND tỉnh Cà Mau", "408562"),
    ("UBND tỉnh Cao Bằng", "410516"), ("UBND tỉnh Điện Biên", "383348"), ("UBND tỉnh Đắk Lắk", "381137"),
    ("UBND tỉnh Đồng Nai", "426101"), ("UBND tỉnh Đồng Tháp", "374613"), ("UBND tỉnh Gia Lai", "384251"),
    ("UBND tỉnh Hà Tĩnh", "390693"), ("UBND tỉnh Hưng Yên", "426108"), ("UBND tỉnh Khánh Hòa", "415139"),
    ("UBND tỉnh Lai Châu", "420192"), ("UBND tỉnh Lào Cai", "426105"), ("UBND tỉnh Lâm Đồng", "421149"),
    ("UBND tỉnh Lạng Sơn", "417489"), ("UBND tỉnh Nghệ An", "418979"), ("UBND tỉnh Ninh Bình", "393975"),
    ("UBND tỉnh Phú Thọ", "422607"), ("UBND tỉnh Quảng Ngãi", "365792"), ("UBND tỉnh Quảng Ninh", "426106"),
    ("UBND tỉnh Quảng Trị", "6715"), ("UBND tỉnh Sơn La", "426103"), ("UBND tỉnh Tây Ninh", "369810"),
    ("UBND tỉnh Thái Nguyên", "370865"), ("UBND tỉnh Thanh Hóa", "371854"),
    ("UBND tỉnh Tuyên Quang", "384979"), ("UBND tỉnh Vĩnh Long", "377087"),
)
PROVINCE_IDS = dict(PROVINCES)
OTHER_FIELDS = ("Thiết bị y tế", "Du lịch", "Xuất bản, In và Phát hành", "Đường bộ", "Giám định",
                "Địa chất và Khoáng sản", "Quy hoạch đô thị và nông thôn")


def _territory(agency: str) -> str:
    return agency.removeprefix("UBND ").replace("Thành phố", "thành phố")


def cite_variants(so_hieu: str, signed: dt.date | None) -> list[str]:
    """How provincial trích yếu write a ministry's số hiệu (QĐ/QD, spaces around / and -, case, date)."""
    number, _, rest = so_hieu.partition("/")
    kind, _, issuer = rest.partition("-")
    day = f" ngày {signed:%d/%m/%Y}" if signed else ""
    return [
        so_hieu,
        f"{number}/{kind.replace('Đ', 'D')}-{issuer}",
        f"{number} /{kind}-{issuer}",
        f"{number}/{kind} - {issuer}",
        f"{so_hieu}{day}",
        so_hieu.lower(),
    ]


def generate(ministry: Iterable[Decision], field_names: Mapping[str, str], seed: int = PROVINCE_SEED,
             own: str = OWN_PROVINCE) -> list[Decision]:
    """The other provinces' rows announcing ``ministry`` decisions, plus unrelated ones (see the module)."""
    rng = random.Random(seed)
    others = [(name, pid) for name, pid in PROVINCES if casefold_key(name) != casefold_key(own)]
    speed = {name: rng.uniform(0.45, 1.9) for name, _ in others}
    numbers = {name: rng.randint(1200, 2600) for name, _ in others}
    out: list[Decision] = []
    next_id = FIRST_PROVINCIAL_ID

    def own_code(name: str, published: dt.date) -> str:
        numbers[name] += rng.randint(1, 12)
        code = f"{numbers[name]}/QĐ-UBND"
        quirk = rng.random()
        if quirk < 0.08:
            return code + "."
        if quirk < 0.14:
            return "0" + code
        if quirk < 0.18:
            return f"{code} ngày {published:%d/%m/%Y}"
        return code

    for m in sorted(ministry, key=lambda d: (d.published or dt.date.min, d.portal_id)):
        if m.published is None:
            continue
        field = ", ".join(field_names.get(k, k) for k in m.fields).lower() or "khoa học và công nghệ"
        for name, pid in others:
            if rng.random() >= ANNOUNCE_RATE:
                continue
            lag = max(0, min(90, round(rng.lognormvariate(math.log(MEDIAN_LAG_DAYS), 0.55) * speed[name])))
            published = m.published + dt.timedelta(days=lag)
            signed = published - dt.timedelta(days=rng.randint(0, 3))
            items = tuple(i for i in m.items if set(i.levels) & {"cap_tinh", "cap_xa"}) or m.items
            form = rng.random()
            if form < REPUBLISH_RATE:
                code, title = m.so_hieu, m.trich_yeu
            else:
                code = own_code(name, published)
                what = (f"Về việc công bố Danh mục thủ tục hành chính mới ban hành, được sửa đổi, bổ sung, bị bãi bỏ "
                        f"trong lĩnh vực {field} thuộc phạm vi chức năng quản lý của Sở Khoa học và Công nghệ "
                        f"{_territory(name)}")
                roll = rng.random()
                if roll < AMBIGUOUS_RATE:
                    number = m.so_hieu.split("/")[0]
                    title = f"{what} (thực hiện Quyết định số {number} của Bộ Khoa học và Công nghệ)"
                elif roll < AMBIGUOUS_RATE + CITE_RATE:
                    cite = rng.choice(cite_variants(m.so_hieu, m.signed))
                    title = f"{what} theo Quyết định số {cite} của Bộ trưởng {m.agency}"
                else:
                    title = what
            out.append(Decision(
                portal_id=str(next_id), so_hieu=code, trich_yeu=title, agency=name, agency_portal_id=pid,
                agency_code=None, signed=signed, published=published, effective=None, fields=m.fields,
                nfd=False, items=items, attachment=_attachment_id(str(next_id))))
            next_id += 1
        for _ in range(3):  # provincial decisions of other fields around the same days
            name, pid = rng.choice(others)
            published = m.published + dt.timedelta(days=rng.randint(0, 20))
            out.append(Decision(
                portal_id=str(next_id), so_hieu=own_code(name, published),
                trich_yeu=(f"Về việc công bố Danh mục thủ tục hành chính được sửa đổi, bổ sung lĩnh vực "
                           f"{rng.choice(OTHER_FIELDS)} thuộc phạm vi chức năng quản lý của {_territory(name)}"),
                agency=name, agency_portal_id=pid, agency_code=None, signed=published, published=published,
                effective=None, fields=(), nfd=False, items=(), attachment=_attachment_id(str(next_id))))
            next_id += 1
    return out


CSDL_KIND_CHANGE = {"moi": "new", "sua_doi": "amended", "bai_bo": "abolished", "thay_the": "new"}


def own_decisions(records: Iterable[Mapping[str, Any]], lag_days: int | None) -> list[Decision]:
    """The department's province's rows: each decision pushed to the sandbox's CSDL endpoint, listed
    ``lag_days`` after its signing date (``ngay_ky``) under the People's Committee that signed it; its
    procedure groups are what was pushed. ``lag_days`` None: never listed."""
    if lag_days is None:
        return []
    out = []
    for record in records:
        try:
            signed = dt.date.fromisoformat(str(record.get("ngay_ky")))
        except ValueError:
            continue
        co_quan = re.sub(r"^(Ủy|Uỷ) ban nhân dân\s+", "", str(record.get("co_quan") or "")).strip()
        agency = f"UBND {co_quan}"
        pid = next((p for n, p in PROVINCES if casefold_key(n) == casefold_key(agency)), "0")
        items = tuple(Item(change=CSDL_KIND_CHANGE.get(str(t.get("loai")), "new"), code=t.get("ma"),
                           name=str(t.get("ten")), levels=("cap_tinh",), replaces=None)
                      for t in record.get("thu_tuc") or [])
        portal_id = str(FIRST_OWN_ID + int(record.get("id", 0)))
        out.append(Decision(
            portal_id=portal_id, so_hieu=str(record["so_hieu"]),
            trich_yeu=f"Về việc công bố Danh mục thủ tục hành chính thuộc phạm vi chức năng quản lý của Sở Khoa học "
                      f"và Công nghệ {_territory(agency)}",
            agency=agency, agency_portal_id=pid, agency_code=None, signed=signed,
            published=signed + dt.timedelta(days=lag_days), effective=None, fields=(), nfd=False, items=items,
            attachment=_attachment_id(portal_id)))
    return out

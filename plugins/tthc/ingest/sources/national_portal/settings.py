"""Constants of the national TTHC portal API (``POST /jsp/rest.jsp`` with form field ``params``)."""

REST_PATH = "/jsp/rest.jsp"
DETAIL_PATH = "/p/home/dvc-tthc-quyet-dinh-cong-bo-chi-tiet.html"
PROVIDER = "dvcquocgia"
PAGE_SIZE = 50
ITEM_PAGE_SIZE = 50
# Hard caps on paging (a portal ignoring pageIndex, or announcing an AMOUNT that never ends, cannot keep
# a run busy): 200 pages of the decision list is 10,000 decisions (the whole portal held 23,039 in
# December 2025, a nightly run reads one page); 40 pages of one item group is 2,000 procedures.
MAX_LIST_PAGES = 200
MAX_ITEM_PAGES = 40
SOURCE_NAME = "national_portal"

SERVICE_LIST = "decision_publishment_advanced_search_service_v2"
SERVICE_FIELDS = "get_fields_by_dp_id_services_v2"
SERVICE_AGENCIES = "get_list_agency_service_v2"
# item group service → change type
SERVICE_ITEMS = {
    "get_procedures_by_dp_id_service_v2": "new",
    "get_modified_procedures_by_dp_id_service_v2": "amended",
    "get_rescinded_procedures_by_dp_id_service_v2": "abolished",
}

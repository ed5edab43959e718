"""Constants of the national TTHC portal API (``POST /jsp/rest.jsp`` with form field ``params``)."""

REST_PATH = "/jsp/rest.jsp"
DETAIL_PATH = "/p/home/dvc-tthc-quyet-dinh-cong-bo-chi-tiet.html"
PROVIDER = "dvcquocgia"
PAGE_SIZE = 50
ITEM_PAGE_SIZE = 50
SOURCE_NAME = "national_portal"

SERVICE_LIST = "decision_publishment_advanced_search_service_v2"
SERVICE_FIELDS = "get_fields_by_dp_id_services_v2"
# item group service → change type
SERVICE_ITEMS = {
    "get_procedures_by_dp_id_service_v2": "new",
    "get_modified_procedures_by_dp_id_service_v2": "amended",
    "get_rescinded_procedures_by_dp_id_service_v2": "abolished",
}

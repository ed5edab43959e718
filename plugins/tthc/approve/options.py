"""The approver's choices (light: the DAG file and the operator import it at parse time)."""

APPROVE = "Phê duyệt"
REJECT = "Từ chối"
AUTO_SO_HIEU = "0/QĐ-DEMO"  # the placeholder number of ``auto_approve`` (demo and tests only)
AUTO_USER = {"id": "auto_approve", "name": "Phê duyệt tự động (demo)"}

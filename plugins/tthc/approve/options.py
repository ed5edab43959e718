"""The approver's choices and the form's rules (light: the DAG file and the operator import it at parse time).

The patterns are JSON-schema ``pattern`` strings (ECMA-262 regular expressions that Python's ``re`` reads
the same way), used by the approval form's params and by :mod:`tthc.approve.answer`, so the form and the
check that records the answer agree.
"""

APPROVE = "Phê duyệt"
REJECT = "Từ chối"
AUTO_SO_HIEU = "0/QĐ-DEMO"  # the placeholder number of ``auto_approve`` (demo and tests only)
AUTO_USER = {"id": "auto_approve", "name": "Phê duyệt tự động (demo)"}

# số hiệu of a provincial decision: "123/QĐ-UBND", "123/2026/QĐ-UBND" (QĐ in either case)
SO_HIEU_PATTERN = r"^\s*\d{1,6}\s*/\s*(\d{4}\s*/\s*)?[Qq][Đđ]-[A-Za-zĐđ0-9.-]+\s*$"

# a real calendar day written dd/mm/yyyy (leading zeros optional) in 2000–2099: 31/11 and 29/02/2027
# do not match, 29/02/2028 does
_D28 = r"(0?[1-9]|1[0-9]|2[0-8])/(0?[1-9]|1[0-2])"
_D30 = r"(29|30)/(0?1|0?[3-9]|1[0-2])"
_D31 = r"31/(0?[13578]|1[02])"
DATE_PATTERN = (rf"^\s*(({_D28}|{_D30}|{_D31})/20[0-9]{{2}}"
                r"|29/0?2/20([02468][048]|[13579][26]))\s*$")

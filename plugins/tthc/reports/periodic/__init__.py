"""The periodic KSTTHC reports: periods, the report's shape, its building, chart and .xlsx form."""

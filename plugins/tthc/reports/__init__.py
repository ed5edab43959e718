"""Reports: Jinja2-rendered Vietnamese digests and periodic KSTTHC reports, mailed with yagmail."""

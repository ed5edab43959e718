"""Development tools of tthc-pipeline, apart from the runtime package ``tthc`` (which never imports them):
the sandbox (local simulators of every outside system), the demo, the native production topology
(``prod-local``), the benchmarks and the matching evaluation. Installed for development and CI."""

"""Exports of the published catalogue: the 清单 layout (XLSX, CSV), CPSV-AP 3.2.0 JSON-LD and
HSDS 3.0 JSON (docs/exports.md)."""

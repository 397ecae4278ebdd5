"""Helpers for tests that act on a step with documents: documents are files now, so an action
that hands them in is a multipart form (``documents.<key>`` the file, ``documents.<key>.ref`` its
paper reference), the same the desk's form and API clients send."""
from __future__ import annotations

import io

# a small real PDF (its bytes begin as every PDF's do: shared.files judges a file by them)
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def action_form(body: dict, files: dict[str, tuple[bytes, str]] | None = None) -> dict:
    """``body`` (an action as JSON would carry it) as the fields of a multipart form for the
    Flask test client: each of its ``documents`` becomes a PDF file named as the document is,
    with its ``ref``; ``files`` adds or replaces files by document key ({key: (bytes, name)})."""
    data: dict = {}
    for name in ("step", "outcome", "note", "message", "assignee", "target"):
        if body.get(name) is not None:
            data[name] = str(body[name])
    for name, value in (body.get("values") or {}).items():
        data[f"values.{name}"] = str(value)
    if body.get("team"):
        data["team"] = ",".join(body["team"])
    chosen = {d["key"]: (PDF, d.get("name") or f"{d['key']}.pdf") for d in body.get("documents") or []}
    chosen.update(files or {})
    refs = {d["key"]: d.get("ref") or "" for d in body.get("documents") or []}
    for key, (content, filename) in chosen.items():
        data[f"documents.{key}"] = (io.BytesIO(content), filename)
        if refs.get(key):
            data[f"documents.{key}.ref"] = refs[key]
    return data

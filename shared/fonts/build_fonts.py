"""Build shared/fonts/Sarabun-Regular.ttf and Sarabun-Bold.ttf (the yearly report's typeface) from
the npm package @fontsource/sarabun, which ships Sarabun (SIL OFL 1.1) as WOFF files split by script.

    cd /tmp && npm pack @fontsource/sarabun && tar xzf fontsource-sarabun-*.tgz
    .venv/bin/python shared/fonts/build_fonts.py /tmp/package

Each weight's Thai and Latin subsets are unwrapped from WOFF to TrueType and merged into one font
(fontTools.merge), so fpdf2 embeds a single face that has both scripts, with the Thai subset's
layout tables (mark placement) kept for HarfBuzz. The package's LICENSE is copied as OFL.txt."""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from fontTools.merge import Merger
from fontTools.ttLib import TTFont

HERE = Path(__file__).resolve().parent
WEIGHTS = {"Regular": 400, "Bold": 700}
SUBSETS = ("thai", "latin")  # Thai first: its layout tables and vertical metrics win the merge


def woff_to_ttf(source: Path, target: Path) -> Path:
    font = TTFont(source)
    font.flavor = None
    font.save(target)
    return target


def build(package: Path, out: Path = HERE) -> list[Path]:
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        for style, weight in WEIGHTS.items():
            parts = [woff_to_ttf(package / "files" / f"sarabun-{subset}-{weight}-normal.woff",
                                 Path(tmp) / f"{subset}-{weight}.ttf") for subset in SUBSETS]
            merged = Merger().merge([str(part) for part in parts])
            merged.recalcTimestamp = False  # the package's dates, so that a rebuild gives the same bytes
            names = merged["name"]
            for record in list(names.names):
                if record.nameID in (1, 16):
                    names.setName("Sarabun", record.nameID, record.platformID, record.platEncID, record.langID)
                elif record.nameID in (2, 17):
                    names.setName(style, record.nameID, record.platformID, record.platEncID, record.langID)
                elif record.nameID in (4,):
                    names.setName(f"Sarabun {style}", record.nameID, record.platformID, record.platEncID,
                                  record.langID)
                elif record.nameID == 6:
                    names.setName(f"Sarabun-{style}", record.nameID, record.platformID, record.platEncID,
                                  record.langID)
            target = out / f"Sarabun-{style}.ttf"
            merged.save(target)
            made.append(target)
    shutil.copyfile(package / "LICENSE", out / "OFL.txt")
    return made


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_fonts.py <unpacked @fontsource/sarabun package directory>")
    for path in build(Path(sys.argv[1])):
        print(path, path.stat().st_size, "bytes")

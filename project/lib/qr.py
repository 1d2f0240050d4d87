"""QR codes of links (segno): as SVG or PNG files to download, and as SVG inline.

One place for size and error correction, so a link's QR looks the same on
the page, in the API and in a download.
"""

import io

import segno

ERROR_CORRECTION = "m"  # 15 %: survives a print that is a little worn
DOWNLOAD_SCALE = 10  # pixels (PNG) or user units (SVG) per module
BORDER = 4  # the quiet zone the QR standard asks for

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def qr_file(text: str, kind: str) -> bytes:
    """The QR code of `text` as a standalone file: `kind` "svg" or "png"."""
    if kind not in CONTENT_TYPES:
        raise ValueError(f"unknown QR file kind {kind!r}")
    out = io.BytesIO()
    options = {"xmldecl": True, "title": text[:200]} if kind == "svg" else {}
    segno.make(text, error=ERROR_CORRECTION).save(out, kind=kind, scale=DOWNLOAD_SCALE, border=BORDER, **options)
    return out.getvalue()


def qr_svg_inline(text: str) -> str:
    """The QR code of `text` as SVG markup to put in a page (no XML declaration)."""
    return segno.make(text, error=ERROR_CORRECTION).svg_inline(scale=4, border=BORDER, omitsize=False)

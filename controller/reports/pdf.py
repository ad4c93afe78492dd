"""HTML to PDF through WeasyPrint, which lays out with Debian's Pango (libpango-1.0-0,
libpangoft2-1.0-0) and finds the Chinese font through fontconfig (fonts-wqy-zenhei)."""

from __future__ import annotations

from pathlib import Path

from controller.errors import ControllerError


class PdfUnavailable(ControllerError):
    """WeasyPrint cannot be loaded here (Pango missing): the HTML is written all the same."""


def write_pdf(html: str, path: Path) -> None:
    try:
        # Imported here: it loads Pango through cffi, a second on a small box, and only a
        # report needs it.
        from weasyprint import HTML
    except OSError as exc:  # the shared library is missing: say which, and go on
        raise PdfUnavailable(f"no PDF: WeasyPrint could not load Pango ({exc}); install "
                             "Debian's libpango-1.0-0 and libpangoft2-1.0-0") from exc
    HTML(string=html).write_pdf(path)

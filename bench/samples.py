"""The files the benchmarks upload: a real one-page PDF (the verifier parses what arrives) and a PNG header."""

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n"
       b"0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\n"
       b"startxref\n164\n%%EOF\n")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SAMPLE = {"application/pdf": PDF, "image/png": PNG}

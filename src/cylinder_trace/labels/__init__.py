"""QR labels for cylinder codes and reading them back from photos.

- :mod:`.render`: label PNG/SVG and A4 PDF sheets (``label_png``, ``label_svg``, ``label_sheet_pdf``)
- :mod:`.scan`: ``decode_codes``, a robust reader for station camera photos
- :mod:`.synth`: synthetic photos of labels, for tests and the benchmark
- :mod:`.fonts`: finding the Latin and CJK fonts the label text needs
"""

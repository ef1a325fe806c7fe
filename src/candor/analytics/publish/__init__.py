"""`candor publish`: a public, aggregate-only report that nothing in it can single anyone out.

figures.py      the query layer's answers → the report's figures (data.json)
suppression.py  the privacy floor (K installations) and complementary suppression, pure
tables.py       the figures as named tables: CSV files and the page's tables
page.py         index.html (works offline, strict Content-Security-Policy)
site.py         the output folder: written whole, never into someone else's files
"""

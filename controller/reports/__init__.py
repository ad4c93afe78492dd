"""The quality department's reports (品质月报): one visit, or one month of a site or of every
site sharing the database. The figures are pure functions over the store's rows
(visit_figures, month_figures); charts, HTML and PDF are rendered apart (charts, html, pdf);
files.py says where they are written and which are the latest. docs/reports.md."""

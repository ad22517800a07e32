"""The report side: recorded results in, statistics, claims, tables, figures and report.md out."""

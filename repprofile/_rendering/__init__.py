"""Rendering: results become documents a person reads (text tables, CSV, charts,
candidate reports, audit reports). Layer 6 of 7: imports analysis and everything below."""

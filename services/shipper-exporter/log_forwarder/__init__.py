"""Delivers the log shipper's spool files to logstore, saving offsets only after delivery."""

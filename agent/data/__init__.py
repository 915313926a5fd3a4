"""Data files shipped with Duet (price table)."""

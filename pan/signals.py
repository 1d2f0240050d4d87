"""Signals other apps hook into.

`purge_requested` is sent by `share_purge_expired` (the periodic purge)
with `now`; each receiver removes what it keeps past its time and returns
one line per thing removed (the resumable uploads of `uploads` do).
"""

from django.dispatch import Signal

purge_requested = Signal()

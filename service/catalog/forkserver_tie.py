"""Imported only by the analysis pool's forkserver, first in its preload list: it ties the forkserver's life to
the process that started it (see lifeline.py). Nothing else imports this module."""

from service.catalog.lifeline import tie_forkserver

tie_forkserver()

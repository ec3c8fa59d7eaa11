"""Copy tracking and piracy evidence, server side.

Risk, triage and evidence reports are read here and served by the surfaces
(``adminapi.evidence``, ``admin.evidence``, ``licentia evidence``); its tasks
fill reverse host names into events (``reverse_dns``) and purge old facts
(``retention``). The detection itself runs in the status check
(``devices.service``); this package reads what it recorded.
"""

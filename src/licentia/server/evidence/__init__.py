"""Copy tracking and piracy evidence, server side.

``create_app`` serves its developer API routes (risk and evidence per license
key or device, ``router``) and starts its tasks: reverse host names filled
into events (``reverse_dns``) and the periodic purge of old facts (``retention``).
The detection itself runs in the status check (``devices.service``); this
package reads what it recorded.
"""

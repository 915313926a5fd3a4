"""The MCP client: servers from config started with the session, their tools offered to both models.

`config` (the typed server entries), `names` and `schema` (what the providers accept), `connection` (one server
over stdio or streamable HTTP), `manager` (every server in its own thread and event loop), `results` (what a
call returned, as text a model can read) and `tool` (an MCP tool seen as one of Duet's tools).
Nothing here imports the SDK at import time.
"""

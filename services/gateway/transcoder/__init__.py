"""The REST API the protos declare: every RPC with a `google.api.http` rule, served
by one grpc-gateway-style transcoder and documented in OpenAPI from the same
descriptors.

discovery.py asks each upstream's server reflection what it serves (reflection.py)
and builds the bindings (catalog.py, templates.py); routing.py serves them (request
and reply JSON in messages.py, streams as SSE); openapi.py documents them, with the
protos' comments (comments.py). `install` adds all of it to the gateway's app.
"""

"""A handler module that raises while being imported: an init error carrying the exception."""

raise RuntimeError("hearth-e2e init failure")


def handler(event, context):
    return {"unreachable": True}

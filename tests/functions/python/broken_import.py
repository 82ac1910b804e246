"""A handler module whose import fails: the runtime reports Runtime.ImportModuleError at init."""

import hearth_e2e_module_that_does_not_exist  # noqa: F401


def handler(event, context):
    return {"unreachable": True}

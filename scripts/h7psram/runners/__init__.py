"""Flash runners: one module per tool, sharing the base class in ``core``."""

from h7psram.runners.core import (  # noqa: F401
    FlashContext,
    FlashFailed,
    Interrupted,
    Runner,
    ToolFailed,
    ToolNotFound,
    VerifyMismatch,
    get_runner_class,
    runner_classes,
)

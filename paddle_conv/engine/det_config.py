"""Old home of the detection schema; it lives in :mod:`paddle_conv.config.detection`."""

from ..config.detection import DET_SCHEMA, is_detection_config  # noqa: F401

"""Keep Jupyter and IPython state inside the project instead of the home folder."""

from __future__ import annotations

import os

from spendsense import paths

KERNEL_NAME = "spendsense"


def project_jupyter_env() -> dict[str, str]:
    """The environment variables that point Jupyter and IPython at git-ignored project folders."""
    root = paths.PROJECT_ROOT
    return {
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter" / "config"),
        "JUPYTER_DATA_DIR": str(root / ".jupyter" / "data"),
        "JUPYTER_RUNTIME_DIR": str(root / ".jupyter" / "runtime"),
        "IPYTHONDIR": str(root / ".ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def apply_project_jupyter_env() -> None:
    """Set the project's Jupyter folders in this process (unless the caller already chose others)."""
    for key, value in project_jupyter_env().items():
        os.environ.setdefault(key, value)

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


def install_kernel() -> str:
    """Register the project's kernel inside the running venv (sys.prefix); returns where it was installed.

    The kernel logs only errors, so papermill runs are not drowned in ipykernel's start-up warnings. It starts in
    the project root (as papermill runs it), so the notebooks' relative default paths (`data/...`,
    `reports/dev`) name the same files when a notebook is opened in JupyterLab from `notebooks/`.
    """
    import json
    import sys
    import tempfile
    from pathlib import Path

    from jupyter_client.kernelspec import KernelSpecManager

    spec = {
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR",
                 f"--IPKernelApp.exec_lines=import os; os.chdir({str(paths.PROJECT_ROOT)!r})"],
        "display_name": "SpendSense (.venv)",
        "language": "python",
        "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        "metadata": {"debugger": True},
    }
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "kernel.json").write_text(json.dumps(spec, indent=1))
        return KernelSpecManager().install_kernel_spec(tmp, KERNEL_NAME, prefix=sys.prefix)


if __name__ == "__main__":
    print(f"installed kernel {KERNEL_NAME!r} in {install_kernel()}")

"""The project's kernel starts in the project root wherever JupyterLab opens a notebook (`make lab` serves
notebooks/, whose relative default paths name files under the root, as under papermill)."""

import os

from jupyter_client.manager import KernelManager

from spendsense import paths
from spendsense.jupyter_env import KERNEL_NAME, install_kernel, project_jupyter_env


def test_a_notebook_opened_from_notebooks_runs_in_the_project_root(monkeypatch):
    for key, value in project_jupyter_env().items():
        monkeypatch.setenv(key, value)
    install_kernel()  # what `make install` registers
    km = KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel(cwd=str(paths.NOTEBOOKS_DIR))  # JupyterLab starts a notebook's kernel in its folder
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        seen = []
        kc.execute_interactive("import os; print(os.getcwd())", timeout=60,
                               output_hook=lambda msg: seen.append(msg["content"].get("text", "")))
        assert "".join(seen).strip() == str(paths.PROJECT_ROOT)
        assert os.path.exists(paths.PROJECT_ROOT / "config" / "run.yaml")  # what the notebooks' defaults reach
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)

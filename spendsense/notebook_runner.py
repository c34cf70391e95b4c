"""`spendsense run`: execute notebooks 01-05 with papermill under one run id, then publish atomically."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from spendsense import paths, runs
from spendsense.jupyter_env import KERNEL_NAME, apply_project_jupyter_env
from spendsense.params import RunParams

STEPS = ("01_generate_data", "02_compute_signals", "03_assign_personas", "04_recommend", "05_evaluate")
# Imported by a step's kernel as it starts, while the previous step is still running (then unbound again, so
# each notebook still begins with an empty namespace and imports what it uses).
WARM_IMPORTS = ("import spendsense.pipeline, spendsense.viz", "del spendsense")
REPORT_NOTEBOOK = "05_evaluate"
FAILED = "failed"

log = logging.getLogger("spendsense.run")


class StepFailed(RuntimeError):
    """A notebook raised; the message names the step, the error and the executed notebook to open."""

    def __init__(self, step: str, error: str, notebook: Path):
        super().__init__(f"step {step} failed: {error}\n  executed notebook: {notebook}")
        self.step, self.error, self.notebook = step, error, notebook


@dataclass
class RunResult:
    """What a finished run produced."""

    run_id: str
    run_dir: Path
    step_seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0


def notebook_parameters(params: RunParams, run_id: str, run_dir: Path) -> dict:
    """Every parameter a step notebook may declare, as JSON-friendly values."""
    return {
        "run_id": run_id,
        "run_dir": str(run_dir),
        "warehouse": str(run_dir / runs.WAREHOUSE),
        "opstore": str(paths.opstore_path()),
        "seed": params.seed,
        "n_users": params.n_users,
        "as_of": params.as_of.isoformat(),
        "source": params.source,
        "dataset_dir": str(params.dataset_dir()),
        "windows": list(params.windows),
        "replay_sample": params.replay_sample,
        "latency_sample": params.latency_sample,
    }


def kernel_name() -> str:
    """The project's registered kernel, or the current interpreter's default kernel when it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        return KERNEL_NAME
    except NoSuchKernel:
        return "python3"


class KernelStarter:
    """Starts each step's kernel ahead of time, so its start-up overlaps the previous step's execution."""

    def __init__(self, kernel: str):
        self.kernel = kernel
        self.started: list = []

    def start(self):
        """A new kernel (AsyncKernelManager) already starting and importing the pipeline's modules."""
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        km = AsyncKernelManager(kernel_name=self.kernel)
        lines = [f"--IPKernelApp.exec_lines={line!r}" for line in WARM_IMPORTS]
        run_sync(km.start_kernel)(cwd=str(paths.PROJECT_ROOT), extra_arguments=lines)
        self.started.append(km)
        return km

    def stop(self, km) -> None:
        """Shut a kernel down (papermill leaves kernels it did not start running)."""
        from jupyter_core.utils import run_sync

        if km in self.started:
            self.started.remove(km)
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)

    def stop_all(self) -> None:
        """Shut down every kernel still running (after a failure or an interrupt)."""
        for km in list(self.started):
            self.stop(km)


def execute_step(step: str, out_dir: Path, parameters: dict, kernel: str, km=None) -> Path:
    """Run one notebook through papermill with the parameters it declares; return the executed copy.

    km: a kernel manager whose kernel is already started (KernelStarter), or None to start one.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    source = paths.NOTEBOOKS_DIR / f"{step}.ipynb"
    target = out_dir / f"{step}.ipynb"
    declared = pm.inspect_notebook(str(source))
    wanted = {k: v for k, v in parameters.items() if k in declared}
    try:
        pm.execute_notebook(
            str(source), str(target), parameters=wanted, kernel_name=kernel,
            progress_bar=False, cwd=str(paths.PROJECT_ROOT), report_mode=False,
            **({"km": km} if km is not None else {}),
        )
    except PapermillExecutionError as exc:
        raise StepFailed(step, f"{exc.ename}: {exc.evalue}", target) from None
    return target


def render_report(executed: Path, target: Path) -> Path:
    """The evaluation notebook as a standalone HTML report with the code hidden."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(str(executed), as_version=4))
    target.write_text(body, encoding="utf-8")
    return target


def run_pipeline(params: RunParams, run_id: str | None = None, wait: bool = False,
                 steps: tuple[str, ...] = STEPS, echo=print) -> RunResult:
    """Execute the step notebooks in order under the run lock and publish the run when all succeeded."""
    apply_project_jupyter_env()
    root = params.resolve(params.runs_dir)
    run_id = run_id or runs.new_run_id()
    started = time.perf_counter()
    with runs.run_lock(root, wait=wait):
        for stale in runs.clean_stale_staging(root):
            echo(f"removed the unfinished run left at {stale}")
        staged = runs.staging_dir(run_id, root)
        (staged / "notebooks").mkdir(parents=True)
        handler = _file_logger(staged / "run.log")
        try:
            (staged / "params.yaml").write_text(
                yaml.safe_dump({"run_id": run_id, **params.model_dump(mode="json")}, sort_keys=False))
            parameters = notebook_parameters(params, run_id, staged)
            kernel = kernel_name()
            result = RunResult(run_id, staged)
            log.info("run %s started with %s (kernel %s)", run_id, params.model_dump(mode="json"), kernel)
            kernels = KernelStarter(kernel)
            upcoming = kernels.start()
            for i, step in enumerate(steps, 1):
                echo(f"[{i}/{len(steps)}] {step} ...", end="", flush=True)
                t0 = time.perf_counter()
                km, upcoming = upcoming, (kernels.start() if i < len(steps) else None)
                try:
                    executed = execute_step(step, staged / "notebooks", parameters, kernel, km=km)
                except StepFailed as exc:
                    echo(" FAILED")
                    log.error("%s", exc)
                    kernels.stop_all()
                    failed_dir = _keep_failed(staged, root)
                    raise StepFailed(exc.step, exc.error, failed_dir / "notebooks" / exc.notebook.name) from None
                except BaseException:
                    kernels.stop_all()
                    raise
                kernels.stop(km)
                result.step_seconds[step] = round(time.perf_counter() - t0, 3)
                echo(f" {result.step_seconds[step]:.1f} s")
                log.info("%s finished in %.2f s", step, result.step_seconds[step])
                if step == REPORT_NOTEBOOK:
                    render_report(executed, staged / "report.html")
            result.total_seconds = round(time.perf_counter() - started, 3)
            (staged / "run.json").write_text(json.dumps({
                "run_id": run_id, "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "step_seconds": result.step_seconds, "total_seconds": result.total_seconds}, indent=2))
            log.info("run %s complete in %.2f s; publishing", run_id, result.total_seconds)
        finally:
            logging.getLogger("spendsense").removeHandler(handler)
            handler.close()
        result.run_dir = runs.publish(staged, root)
        _record_deliveries(result.run_dir)
    return result


def _file_logger(path: Path) -> logging.Handler:
    """Attach a file handler for this run's log."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("spendsense")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler


def _keep_failed(staged: Path, root: Path) -> Path:
    """Move a failed run out of staging so it can be inspected; the published run is untouched."""
    target = root / FAILED / staged.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(target)
    staged.rename(target)
    return target


def _record_deliveries(run_dir: Path) -> None:
    """Record the published run's recommendations as shown, for the recency rule of later runs."""
    from spendsense import opstore
    from spendsense.recommend import delivered_recommendations

    con = opstore.connect()
    try:
        opstore.record_deliveries(con, delivered_recommendations(run_dir / runs.WAREHOUSE))
    finally:
        con.close()

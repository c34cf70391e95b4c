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
INGEST_STEP = "01_generate_data"  # imports the input's consent events; the signal step reads consent after it
FAILED = runs.FAILED
WITHHELD_TABLE = "skipped_users"
WITHHELD_REASON = "consent changed during the run: withheld at publish"

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
        "raw_store": str(params.resolve(params.raw_store)) if params.raw_store else None,
        "batch": params.batch,
        "engine": params.engine,
        "spark_master": params.spark_master,
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
    """Execute the step notebooks in order under the run lock and publish the run when all succeeded.

    Before the first notebook: the run id and runs folder are checked (RunError), and the deliveries of the
    published run are recorded if a crash kept them from it. At publish: users whose consent changed during the
    run are withheld (their derived rows deleted from the staged warehouse, nothing delivered). A full disk
    removes the staging folder and raises RunError in one line.
    """
    apply_project_jupyter_env()
    params = RunParams.model_validate(params.model_dump())  # every parameter checked before any notebook
    root = runs.check_runs_dir(params.resolve(params.runs_dir))
    if run_id is not None:
        runs.check_run_id(run_id)
    started = time.perf_counter()
    with runs.run_lock(root, wait=wait):
        run_id = runs.unique_run_id(root, run_id)
        for stale in runs.clean_stale_staging(root):
            echo(f"removed the unfinished run left at {stale}")
        try:
            replayed = replay_deliveries(root)
        except Exception as exc:  # noqa: BLE001 - refuse to run on: a newer publish would hide this one
            raise runs.RunError(f"the deliveries of the published run {runs.latest_run_dir(root)} are not "
                                f"recorded and could not be recorded now ({exc}); nothing was run") from None
        if replayed:
            echo(f"recorded {replayed} deliveries of the published run that a crash had kept from the store")
        marks = {"consent": consent_watermark()}  # moved on once ingest (which imports consent) is done
        staged = runs.staging_dir(run_id, root)
        try:
            result = _run_steps(params, run_id, staged, root, steps, started, echo, marks)
            withheld = withhold_changed_consent(staged / runs.WAREHOUSE, marks["consent"])
            if withheld:
                echo(f"withheld {len(withheld)} user(s) whose consent changed during the run")
                log.info("withheld users whose consent changed during the run: %s", ", ".join(withheld))
            if (staged / runs.WAREHOUSE).exists():  # after the withhold: the index holds what is published
                from spendsense import serving

                serving.write_index(staged / runs.WAREHOUSE)
        except BaseException as exc:
            if runs.is_disk_full(exc) and staged.exists():
                shutil.rmtree(staged, ignore_errors=True)
                raise runs.RunError(f"disk full while writing run {run_id} ({exc.strerror}"
                                    f"{': ' + str(exc.filename) if exc.filename else ''}); "
                                    "its staging folder was removed, the published run is unchanged") from None
            raise
        result.run_dir = runs.publish(staged, root)
        try:
            _record_deliveries(result.run_dir)
        except Exception as exc:  # noqa: BLE001 - any failure: the next run replays them from the folder
            raise runs.RunError(f"run {run_id} is published but its deliveries could not be recorded ({exc}); "
                                "the next run records them from the published folder") from None
    return result


def _run_steps(params: RunParams, run_id: str, staged: Path, root: Path, steps: tuple[str, ...], started: float,
               echo, marks: dict) -> RunResult:
    """Run every step notebook into the staging folder; a failed step's folder moves to failed/ (unless the disk
    is full: then it is removed, as it would keep the disk full)."""
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
        upcoming = kernels.start() if steps else None
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
                if "No space left on device" in exc.error or "Errno 28" in exc.error:
                    raise OSError(28, f"No space left on device in step {step}") from None
                failed_dir = _keep_failed(staged, root)
                raise StepFailed(exc.step, exc.error, failed_dir / "notebooks" / exc.notebook.name) from None
            except BaseException:
                kernels.stop_all()
                raise
            kernels.stop(km)
            if step == INGEST_STEP:  # consent events recorded from here on changed during the run
                marks["consent"] = consent_watermark()
                _record_raw_batch(staged, params, run_id)
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
    return result


def _record_raw_batch(staged: Path, params: RunParams, run_id: str) -> None:
    """Write the raw-store batch the run reads (and the store) into its params.yaml, once ingest has chosen it."""
    import duckdb

    from spendsense.ingest import rawstore

    with duckdb.connect(str(staged / runs.WAREHOUSE), read_only=True) as con:
        batch = rawstore.run_batch(con)
    store = rawstore.store_for(params.dataset_dir(), params.resolve(params.raw_store) if params.raw_store else None)
    recorded = {"run_id": run_id, **params.model_dump(mode="json"), "raw_store": str(store), "batch": batch}
    (staged / "params.yaml").write_text(yaml.safe_dump(recorded, sort_keys=False))


def consent_watermark() -> int:
    """The recording position of the newest consent event now (events after it happened during the run)."""
    from spendsense import opstore

    con = opstore.connect()
    try:
        return opstore.consent_watermark(con)
    finally:
        con.close()


def withhold_changed_consent(warehouse: Path, since_mark: int) -> list[str]:
    """Delete, from the staged warehouse, every derived row of a user whose consent changed during the run or is
    not granted now, and list them in skipped_users; returns those users. Raw tables (the input as ingested)
    and skipped_users (which holds only the reason) stay."""
    import duckdb
    import pandas as pd

    from spendsense import opstore, sql
    from spendsense.schema import TABLES

    if not warehouse.exists():
        return []
    con = opstore.connect()
    try:
        changed = opstore.consent_changed_since(con, since_mark)
        granted = opstore.consenting_user_ids(con)
    finally:
        con.close()
    keep = set(TABLES) | {WITHHELD_TABLE}
    q = sql.queries("publish_withhold.sql")
    with duckdb.connect(str(warehouse)) as wcon:
        derived = [t for (t,) in wcon.execute(*q["user_tables"].bind()).fetchall() if t not in keep]
        # withheld: users whose consent changed during the run, and users processed as consenting who are not
        # granted now; a user skipped from the start (no consent) keeps the record of that skip
        processed = {u for (u,) in wcon.execute(*q["processed_users"].bind()).fetchall()} \
            if "signals_wide" in derived else set()
        targets = set(changed) | (processed - set(granted))
        wcon.register("withheld_now", pd.DataFrame({"user_id": pd.Series(sorted(targets), dtype=object)}))
        wcon.execute("begin transaction")
        # table names come from the warehouse's own catalogue, quoted by sql.identifier into the queries' {table}
        per_table = [sql.identifier(t, derived) for t in derived]
        users = sorted({u for table in per_table
                        for (u,) in wcon.execute(*q["withheld_users_in"].fill(table=table).bind()).fetchall()})
        for table in per_table:
            wcon.execute(*q["delete_withheld"].fill(table=table).bind())
        if users and wcon.execute(*q["has_table"].bind(name=WITHHELD_TABLE)).fetchall()[0][0]:
            record = q["record_withheld"].fill(table=sql.identifier(WITHHELD_TABLE, {WITHHELD_TABLE}))
            wcon.execute(*record.bind(users=users, reason=WITHHELD_REASON))
        wcon.execute("commit")
    return users


def replay_deliveries(root: Path) -> int:
    """Record the latest published run's deliveries if none are recorded (a crash between publish and recording,
    or a full opstore); idempotent: delivery ids are hashes of what was delivered. Returns rows added."""
    from spendsense import opstore

    latest = runs.latest_run_dir(root)
    if latest is None:
        return 0
    con = opstore.connect()
    try:
        if opstore.has_deliveries(con, latest.name):
            return 0
    finally:
        con.close()
    return _record_deliveries(latest)


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


def _record_deliveries(run_dir: Path) -> int:
    """Record the published run's recommendations as shown, for the recency rule of later runs."""
    from spendsense import opstore
    from spendsense.recommend import delivered_recommendation_chunks

    if not (run_dir / runs.WAREHOUSE).exists():  # a run of no steps (tests) has nothing to deliver
        return 0
    con = opstore.connect()
    try:
        # a chunk of users at a time: a large run's deliveries never sit in memory at once
        return opstore.record_deliveries(con, delivered_recommendation_chunks(run_dir / runs.WAREHOUSE))
    finally:
        con.close()

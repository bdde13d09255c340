"""Resource handles: ``Experiment``, ``Variation`` and ``Run``.

A handle is an id plus, optionally, the last server response for it. Reading a field
fetches on first use and caches; every mutation drops the cache and returns the
handle, so chains read fresh data without a ``refresh()``:

    exp = Experiment(chronicle, exp_id)          # no request yet
    v = exp.commit().variations.create(config_yaml="lr: 0.1")
    exp.committed_at                             # re-fetched after the commit

Handles send no HTTP themselves; they delegate to ``chronicle.<namespace>``, and the
``Run`` handle's lifecycle and uploads to ``methodic.run`` and ``chronicle.uploads``
(modules that import no handle at runtime). The cache is per handle: two handles for
one id do not share data. A runner's whole run is one block:

    with Run(chronicle, run_id).lifecycle(heartbeat_interval=60) as run:
        config = run.get_variation_config().config_json
        ...                                      # train, upload checkpoints
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, overload

from methodic import types
from methodic.errors import ConflictError
from methodic.types import Model, Page, _mapped

if TYPE_CHECKING:
    from concurrent.futures import Future

    from methodic._health import BeatLog, HeartbeatHealth
    from methodic.client import Chronicle
    from methodic.downloads import Checkpoint
    from methodic.namespaces._base import Order
    from methodic.run import CrashGuard, Heartbeater, OnSigterm, ProgressSource, RunLifecycle
    from methodic.tracker import UploadTracker
    from methodic.upload_manager import UploadManager
    from methodic.uploads import ProgressArg

__all__ = [
    "Experiment",
    "ExperimentVariations",
    "Field",
    "Handle",
    "Run",
    "Variation",
    "VariationRuns",
]

logger = logging.getLogger("methodic")

_D = TypeVar("_D", bound=Model)
_T = TypeVar("_T")
_H = TypeVar("_H", bound="Handle[Any]")


class Handle(Generic[_D]):
    """Shared base: an id, a lock-guarded cache of one model, fetch-on-read."""

    _model: ClassVar[type[Model]]

    def __init__(self, chronicle: Chronicle, ref: str | _D) -> None:
        self._chronicle = chronicle
        self._lock = threading.Lock()
        # Bumped by every invalidation, so a fetch that raced a mutation cannot
        # store the pre-mutation data it read.
        self._generation = 0
        if isinstance(ref, str):
            if not ref:
                raise ValueError(f"{type(self).__name__} id must not be empty")
            self._id = ref
            self._cache: _D | None = None
        elif isinstance(ref, self._model):
            self._id = ref.id  # type: ignore[attr-defined]
            self._cache = ref
        else:
            raise TypeError(
                f"{type(self).__name__}() takes an id or a methodic.types."
                f"{self._model.__name__}, not {type(ref).__name__}"
            )

    @property
    def id(self) -> str:
        """The resource id (never needs a request)."""
        return self._id

    @property
    def chronicle(self) -> Chronicle:
        """The client this handle sends its calls through."""
        return self._chronicle

    @property
    def data(self) -> _D:
        """The cached server response, fetched if there is none."""
        return self._data()

    def refresh(self: _H) -> _H:
        """Drop the cache so the next read re-fetches (for server-side changes)."""
        self._invalidate()
        return self

    def to_dict(self) -> dict[str, Any]:
        """The cached server response as a dict."""
        return self._data().to_dict()

    def _fetch(self) -> _D:
        raise NotImplementedError

    def _data(self, need: type[Model] | None = None) -> _D:
        """Cached data (fetched if absent, or if it is not an instance of ``need``)."""
        with self._lock:
            cached, generation = self._cache, self._generation
        if cached is not None and (need is None or isinstance(cached, need)):
            return cached
        fresh = self._fetch()
        with self._lock:
            if self._generation == generation:
                self._cache = fresh
        return fresh

    def _invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache = None

    def _peek(self) -> _D | None:
        """The cached data, or None: never fetches (what display shows)."""
        return self._cache

    def _repr_fields(self) -> tuple[str, ...]:
        return ("state",)

    # Display shows only what is cached, and says when nothing is: a repr or a
    # notebook cell must never send a request (methodic._display).

    def __repr__(self) -> str:
        from methodic._display import handle_repr

        return handle_repr(self, self._repr_fields())

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from methodic._display import pretty_handle

        pretty_handle(self, p, cycle)

    def _repr_html_(self) -> str:
        from methodic._display import handle_html

        return handle_html(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Handle) and type(other) is type(self) and other._id == self._id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._id))


class Field(Generic[_T]):
    """A typed, read-only handle attribute backed by the cached model's field."""

    def __init__(self, *, need: type[Model] | None = None) -> None:
        self._need = need
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Field[_T]: ...
    @overload
    def __get__(self, obj: Handle[Any], owner: type) -> _T: ...
    def __get__(self, obj: Handle[Any] | None, owner: type) -> Field[_T] | _T:
        if obj is None:
            return self
        value: _T = getattr(obj._data(self._need), self._name)
        return value


class Experiment(Handle[types.Experiment]):
    """An experiment handle. ``Experiment(chronicle, "id")`` sends no request.

    Create one, or wrap an id you hold; every mutation returns the handle:

        exp = Experiment.create(chronicle, "lr sweep")
        exp.commit().variations.create(config={"lr": 0.1})
    """

    _model = types.Experiment

    title = Field[str]()
    state = Field[str]()
    created_at = Field[str]()
    updated_at = Field[str]()
    hypothesis = Field[str | None]()
    description = Field[str | None]()
    parent_ids = Field[list[str]]()
    tags = Field[list[str]]()
    committed_at = Field[str | None]()
    concluded_at = Field[str | None]()
    retracted_at = Field[str | None]()
    conclusion = Field[str | None]()
    retraction_reason = Field[str | None]()
    # Only the detail response carries these; a handle built from a list item fetches.
    run_counts = Field[dict[str, int]](need=types.ExperimentDetail)

    @classmethod
    def create(
        cls,
        chronicle: Chronicle,
        title: str,
        *,
        hypothesis: str | None = None,
        description: str | None = None,
        parent_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Experiment:
        """Create a draft experiment and return its handle."""
        return cls(
            chronicle,
            chronicle.experiments.create(
                title,
                hypothesis=hypothesis,
                description=description,
                parent_ids=parent_ids,
                tags=tags,
                idempotency_key=idempotency_key,
            ),
        )

    @property
    def variations(self) -> ExperimentVariations:
        """This experiment's variations: ``create``, ``list``, iteration."""
        return ExperimentVariations(self)

    def update(
        self,
        *,
        title: str | None = None,
        hypothesis: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> Experiment:
        """Edit the draft; returns ``self``."""
        try:
            self._chronicle.experiments.update(
                self._id, title=title, hypothesis=hypothesis, description=description, tags=tags
            )
        finally:
            self._invalidate()
        return self

    def commit(self) -> Experiment:
        """``draft -> committed``; returns ``self``."""
        try:
            self._chronicle.experiments.commit(self._id)
        finally:
            self._invalidate()
        return self

    def conclude(self, conclusion: str) -> Experiment:
        """``committed -> concluded``; returns ``self``."""
        try:
            self._chronicle.experiments.conclude(self._id, conclusion=conclusion)
        finally:
            self._invalidate()
        return self

    def retract(self, reason: str) -> Experiment:
        """``committed | concluded -> retracted``; returns ``self``."""
        try:
            self._chronicle.experiments.retract(self._id, reason=reason)
        finally:
            self._invalidate()
        return self

    def lineage(
        self,
        *,
        direction: Literal["ancestors", "descendants", "both"] = "both",
        depth: int | None = None,
    ) -> types.LineageResponse:
        """Walk parent/child links from this experiment (in a notebook: its picture)."""
        return self._chronicle.experiments.lineage(self._id, direction=direction, depth=depth)

    def _repr_fields(self) -> tuple[str, ...]:
        return ("title", "state")

    def _fetch(self) -> types.Experiment:
        return self._chronicle.experiments.get(self._id)


class ExperimentVariations:
    """``exp.variations``: the experiment's variations as ``Variation`` handles."""

    def __init__(self, experiment: Experiment) -> None:
        self._experiment = experiment

    def create(
        self,
        *,
        config_yaml: str | None = None,
        config_json: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        name: str | None = None,
        accelerate_config_json: Mapping[str, Any] | None = None,
        launch_config: Mapping[str, Any] | None = None,
    ) -> Variation:
        """Add a variation (exactly one of the three config forms)."""
        exp = self._experiment
        try:
            created = exp.chronicle.variations.create(
                exp.id,
                config_yaml=config_yaml,
                config_json=config_json,
                config=config,
                name=name,
                accelerate_config_json=accelerate_config_json,
                launch_config=launch_config,
            )
        finally:
            exp._invalidate()  # the cached detail lists variations
        return Variation(exp.chronicle, created)

    def list(
        self, *, limit: int | None = None, cursor: str | None = None, order: Order | None = None
    ) -> Page[Variation]:
        """Variation handles, newest first: iterate for all of them (``limit``: page size)."""
        exp = self._experiment
        page = exp.chronicle.variations.list(exp.id, limit=limit, cursor=cursor, order=order)
        return _mapped(page, lambda v: Variation(exp.chronicle, v), Variation)

    def __iter__(self) -> Iterator[Variation]:
        return iter(self.list())

    def __repr__(self) -> str:
        return f"<variations of Experiment {self._experiment.id!r}: iterate, or .list()>"


class Variation(Handle[types.Variation]):
    """A variation handle; ``variation.runs.create()`` returns a ``Run`` handle."""

    _model = types.Variation

    experiment_id = Field[str]()
    created_at = Field[str]()
    name = Field[str | None]()
    config_yaml = Field[str | None]()
    config_json = Field[dict[str, Any]]()
    accelerate_config_json = Field[dict[str, Any] | None]()
    launch_config = Field[dict[str, Any] | None]()

    @property
    def experiment(self) -> Experiment:
        """The parent experiment's handle."""
        return Experiment(self._chronicle, self.experiment_id)

    @property
    def runs(self) -> VariationRuns:
        """This variation's runs: ``create``, ``list``, iteration."""
        return VariationRuns(self)

    def _repr_fields(self) -> tuple[str, ...]:
        return ("name",)

    def _fetch(self) -> types.Variation:
        return self._chronicle.variations.get(self._id)


class VariationRuns:
    """``variation.runs``: the variation's runs as ``Run`` handles."""

    def __init__(self, variation: Variation) -> None:
        self._variation = variation

    def create(
        self, *, resume_from_run_id: str | None = None, idempotency_key: str | None = None
    ) -> Run:
        """Create a pending run and return its handle."""
        v = self._variation
        created = v.chronicle.runs.create(
            v.id, resume_from_run_id=resume_from_run_id, idempotency_key=idempotency_key
        )
        return Run(v.chronicle, created)

    def list(
        self, *, limit: int | None = None, cursor: str | None = None, order: Order | None = None
    ) -> Page[Run]:
        """Run handles, newest first: iterate for all of them (``limit``: page size)."""
        v = self._variation
        page = v.chronicle.runs.list(variation_id=v.id, limit=limit, cursor=cursor, order=order)
        return _mapped(page, lambda r: Run(v.chronicle, r), Run)

    def __iter__(self) -> Iterator[Run]:
        return iter(self.list())

    def __repr__(self) -> str:
        return f"<runs of Variation {self._variation.id!r}: iterate, or .list()>"


class Run(Handle[types.Run]):
    """A run handle: what a runner drives through a run's lifecycle.

    ``Run(chronicle, "id")`` sends no request. ``tracker`` is the ``UploadTracker``
    the upload methods journal into; without one, the client's default journal (under
    the user's cache directory) is opened on first upload.

        with Run(chronicle, run_id).lifecycle(heartbeat_interval=60) as run:
            config = run.get_variation_config().config_json
            ...                                    # train, upload checkpoints

    Uploads are delegated to ``chronicle.uploads`` (``UploadManager``), the lifecycle
    machinery to ``methodic.run``; the handle keeps only what ties them to this run.
    """

    _model = types.Run

    variation_id = Field[str]()
    experiment_id = Field[str]()
    state = Field[str]()
    created_at = Field[str]()
    failure_reason = Field[str | None]()
    failure_message = Field[str | None]()
    environment = Field[dict[str, Any] | None]()
    progress = Field[dict[str, Any] | None]()
    resume_from_run_id = Field[str | None]()
    started_at = Field[str | None]()
    last_heartbeat_at = Field[str | None]()
    finished_at = Field[str | None]()

    def __init__(
        self, chronicle: Chronicle, run: str | types.Run, tracker: UploadTracker | None = None
    ) -> None:
        super().__init__(chronicle, run)
        self._tracker = tracker
        self._beaters: list[Heartbeater] = []
        self._beat_log: BeatLog | None = None
        self._attached: bool | None = None
        self._finished = False

    @property
    def variation(self) -> Variation:
        """The variation this run executes."""
        return Variation(self._chronicle, self.variation_id)

    @property
    def experiment(self) -> Experiment:
        """The experiment this run belongs to."""
        return Experiment(self._chronicle, self.experiment_id)

    @property
    def tracker(self) -> UploadTracker:
        """The upload journal (the client's default one unless one was given)."""
        return self._tracker if self._tracker is not None else self._uploads.default_tracker

    @property
    def pending_upload_bytes(self) -> int:
        """Bytes of this run's uploads storage has not yet acknowledged (queued or sending)."""
        return self._uploads.pending_bytes(self._id)

    @property
    def attached(self) -> bool | None:
        """After ``start()``: ``True`` if the run was already running (a restarted runner
        attached to it), ``False`` if this call started it; ``None`` before."""
        return self._attached

    @property
    def finished(self) -> bool:
        """Whether ``succeed()`` or ``fail()`` was reported through this handle."""
        return self._finished

    @property
    def heartbeat_health(self) -> HeartbeatHealth:
        """How this handle's heartbeats are going (a ``HeartbeatHealth`` snapshot).

        The last beat's error, whether background beating stopped for good, when
        Chronicle last accepted a beat, and what was wrong with the last progress
        payload. Read it in a long loop to stop before the watchdog reaps the run:

            if run.heartbeat_health.consecutive_failures >= 3:
                raise RuntimeError("Chronicle has not heard from this run for a while")
        """
        return self._beats.snapshot(self._stopped_by())

    # -- lifecycle ------------------------------------------------------------------

    def lifecycle(
        self,
        *,
        heartbeat_interval: float = 60.0,
        progress: ProgressSource = None,
        environment: Mapping[str, Any] | None = None,
        on_sigterm: OnSigterm = "leave",
    ) -> RunLifecycle:
        """The whole run as one ``with`` block; entering it returns this handle.

        Enter: a pending run is started, a running one attached to (a restarted
        runner: logged, ``run.attached`` is ``True``), a finished one raises
        ``ConflictError`` before anything changes; heartbeats start (``progress`` is a
        mapping or a callable), and this run's unfinished uploads are resumed. A clean
        exit waits for the background uploads, then succeeds. An exception fails the
        run (``crash``, redacted message; ``abandoned`` for Ctrl-C) and is re-raised.
        SIGTERM (a preemption) by default leaves the run running, so the restarted
        runner attaches to it; ``on_sigterm="fail"`` reports it as a crash instead.

            with Run(chronicle, run_id).lifecycle(progress=lambda: {"step": step}) as run:
                train(run)
        """
        from methodic.run import RunLifecycle

        return RunLifecycle(
            self,
            heartbeat_interval=heartbeat_interval,
            progress=progress,
            environment=environment,
            on_sigterm=on_sigterm,
        )

    def get_variation_config(self) -> types.VariationConfig:
        """The config to run: ``config_json``, ``accelerate_config_json``, ``launch_config``."""
        return self._chronicle.runs.config(self._id)

    def start(self, environment: Mapping[str, Any] | None = None) -> Run:
        """``pending -> running``, or attach to a run that is already running.

        Without ``environment``, sends ``environment_snapshot()``. A run that is
        already running (a restarted runner, same run id) is attached to: logged,
        ``attached`` is ``True``. A finished run raises ``ConflictError``.
        """
        from methodic.run import environment_snapshot

        env = environment_snapshot() if environment is None else environment
        try:
            started = self._chronicle.runs.start(self._id, environment=env)
            self._attached = False
            self._beats.alive(started.last_heartbeat_at, beat=False)
        except ConflictError as err:
            self._attach(err)
        finally:
            self._invalidate()
        for beater in self._beaters:
            beater.wake()
        return self

    def heartbeat(self, progress: ProgressSource = None) -> Run:
        """Report liveness (and optional progress); ConflictError once the run was reaped.

        ``progress`` is a mapping, or a callable returning one. The beat is sent
        whatever it holds: values JSON has no form for are converted (NaN as the
        string ``"NaN"``, numpy values as plain numbers, datetimes as RFC 3339) or
        dropped, a callable that raises sends the beat without progress, and a
        payload Chronicle refuses (400, 413, 422) is sent again without it. Each such
        problem is logged once and kept in ``heartbeat_health.progress_problem``.
        """
        self._raise_if_stopped()
        try:
            self._beats.send(
                lambda payload: self._chronicle.runs.heartbeat(self._id, progress=payload),
                progress,
            )
        finally:
            self._invalidate()
        return self

    def succeed(self) -> Run:
        """``running -> succeeded``, once every upload of this run is complete.

        Waits for the run's background uploads. If any failed, or the tracker still
        holds unfinished uploads of this run, raises ``UploadError`` (the cause
        chained) and does not report success: the run stays running, so
        ``resume_uploads()`` and then ``succeed()`` again can still finish it.
        """
        self._raise_if_stopped()
        self._uploads.wait(self._id, tracker=self._tracker)
        for beater in self._beaters:
            beater.beat_now()  # the run ends showing the progress it reached, not an older one
        try:
            self._chronicle.runs.succeed(self._id)
        finally:
            self._invalidate()
        self._finished = True
        return self

    def fail(
        self, reason: Literal["crash", "abandoned"] = "crash", message: str | None = None
    ) -> Run:
        """``-> failed``: ``crash`` for unrecoverable errors, ``abandoned`` for cancels.

        Background uploads are not awaited; they carry on (a crash checkpoint is
        still worth keeping) and remain resumable through the tracker.
        """
        try:
            self._chronicle.runs.fail(self._id, reason=reason, message=message)
        finally:
            self._invalidate()
        self._finished = True
        return self

    def heartbeating(
        self, interval: float = 60.0, *, progress: ProgressSource = None
    ) -> Heartbeater:
        """Send heartbeats from a daemon thread while the block runs.

        Safe in any order with ``start()``: a pending run is not beaten, the thread
        waits until ``start()`` (here) or the server says the run is running. Each
        beat's progress is ``progress`` (or what the callable returns) plus
        ``pending_upload_bytes`` while uploads are in flight. Transient failures are
        logged and retried at the next beat (the watchdog allows 15 minutes). A 409 —
        the run was reaped or finished elsewhere — or any other 4xx but 408 and 429
        (a revoked key, an unknown run) stops the thread and is surfaced: raised when
        the block exits, and by every later lifecycle or upload call.

            with run.heartbeating(interval=30, progress=lambda: {"step": step}):
                train()
        """
        from methodic.run import Heartbeater

        beater = Heartbeater(self, interval, progress)
        self._beaters.append(beater)
        return beater

    def fail_on_crash(self, *, on_sigterm: OnSigterm = "leave") -> CrashGuard:
        """Turn an escaping exception into ``fail()``, never into success.

        ``KeyboardInterrupt`` reports ``reason="abandoned"``, anything else
        ``reason="crash"``; the exception is re-raised. In the main thread SIGTERM
        raises ``methodic.run.Terminated`` inside the block: by default the run is
        left running for a restart of the same run id (``on_sigterm="fail"`` reports
        a crash instead). Nothing is reported if the run already finished through
        this handle. ``lifecycle()`` includes this.

            with run.fail_on_crash():
                run.start()
                train()
                run.succeed()
        """
        from methodic.run import CrashGuard

        return CrashGuard(self, on_sigterm=on_sigterm)

    # -- uploads --------------------------------------------------------------------

    def upload_asset(
        self,
        kind: str,
        name: str,
        files: Mapping[str, str | os.PathLike[str]],
        metadata: Mapping[str, Any] | None = None,
        progress: ProgressArg = None,
        *,
        content_types: Mapping[str, str] | None = None,
    ) -> types.Asset:
        """Upload local files as one asset of this run and wait until it is ready.

        ``files`` maps component names to paths (anything else is a ``TypeError``).
        The upload is journaled in the tracker first, so even this synchronous call
        is resumable after a crash. ``progress`` is a ``callback(bytes_done,
        bytes_total)`` or ``"tqdm"``.

            asset = run.upload_asset("output", "predictions", {"preds.csv": "out/preds.csv"})
        """
        self._raise_if_stopped()
        return self._uploads.upload(
            kind=kind,
            name=name,
            files=files,
            run_id=self._id,
            metadata=metadata,
            content_types=content_types,
            progress=progress,
            tracker=self._tracker,
        )

    def upload_inline(
        self,
        kind: str,
        name: str,
        content: str | Mapping[str, Any],
        *,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> types.Asset:
        """Attach a small payload (at most 1 MiB) in one call; it is ready at once.

        For example:

            run.upload_inline("environment", "pip-freeze", freeze, content_type="text/plain")
        """
        self._raise_if_stopped()
        return self._chronicle.assets.create_inline(
            kind=kind,
            name=name,
            content=content,
            content_type=content_type,
            run_id=self._id,
            metadata=metadata,
        )

    def register_and_upload_async(
        self,
        kind: str,
        name: str,
        files: Mapping[str, str | os.PathLike[str]],
        metadata: Mapping[str, Any] | None = None,
        *,
        content_types: Mapping[str, str] | None = None,
        progress: ProgressArg = None,
    ) -> Future[types.Asset]:
        """Register an asset now; send its bytes in the background.

        Before this returns, the files are hashed, journaled in the tracker and the
        asset is created with Chronicle, so a SIGKILL at any later instant is
        recoverable with ``resume_uploads()``. The transfer and finalize run on the
        client's bounded upload workers (``chronicle.uploads``); ``succeed()`` waits
        for them.

            future = run.register_and_upload_async("checkpoint", f"step-{step}", files)
            ...
            run.succeed()                      # raises UploadError if it failed
        """
        self._raise_if_stopped()
        return self._uploads.submit(
            kind=kind,
            name=name,
            files=files,
            run_id=self._id,
            metadata=metadata,
            content_types=content_types,
            progress=progress,
            tracker=self._tracker,
        )

    def resume_uploads(self, progress: ProgressArg = None) -> list[types.Asset]:
        """Finish every incomplete upload of this run found in the tracker.

        Also those of the run it resumes from (``resume_from_run_id``), finished or
        not. Returns the assets it completed. Uploads a live process (or a running
        upload of this client) holds are left to their owner; uploads that can never
        complete are dropped with a log line. If some cannot be finished, the others
        still are, and then ``UploadError`` is raised for the first failure.
        ``lifecycle()`` calls this on entry.

            run = Run(chronicle, run_id)       # in the restarted process
            run.resume_uploads()
        """
        return self._uploads.resume(run_id=self._id, progress=progress, tracker=self._tracker)

    def download_checkpoint(
        self, dest_dir: str | os.PathLike[str], *, progress: ProgressArg = None
    ) -> Checkpoint | None:
        """Download the checkpoint this run resumes from; ``None`` if there is none.

        Chronicle picks it: this run's own newest ready checkpoint (a restart of the
        same run), else its ``resume_from_run_id``'s; never a sibling run's. The
        components are fetched in parallel, each checked against its size and sha256
        (``IntegrityError``, with nothing left in ``dest_dir``) before any takes its
        final name. ``checkpoint.run_id`` says which run saved it.

            checkpoint = run.download_checkpoint("/scratch/resume")
            if checkpoint is not None:
                state = load(checkpoint.paths["model.bin"], step=checkpoint.metadata["step"])
        """
        from methodic.downloads import download_checkpoint

        return download_checkpoint(self._chronicle, self._id, dest_dir, progress=progress)

    # -- internals ------------------------------------------------------------------

    @property
    def _uploads(self) -> UploadManager:
        return self._chronicle.uploads

    def _fetch(self) -> types.Run:
        return self._chronicle.runs.get(self._id)

    def _attach(self, refused: ConflictError) -> None:
        """``start()`` got 409: attach if the run is running, else say why not."""
        current = self._fetch()
        if current.state != "running":
            why = f" ({current.failure_reason})" if current.failure_reason else ""
            raise ConflictError(
                f"run {self._id} is {current.state}{why}: it can be neither started nor "
                f"attached to; create a new run (resume_from_run_id={self._id!r} to "
                f"continue from its checkpoint)",
                status_code=refused.status_code,
                body=refused.body,
                request_id=refused.request_id,
                response=refused.response,
            ) from refused
        self._attached = True
        logger.info(
            "run %s is already running: attached to it (a restarted runner); "
            "its unfinished uploads can be resumed",
            self._id,
        )

    @property
    def _beats(self) -> BeatLog:
        if self._beat_log is None:
            from methodic._health import BeatLog

            with self._lock:
                if self._beat_log is None:
                    self._beat_log = BeatLog(self._id, self._chronicle.transport.redact)
        return self._beat_log

    def _stopped_by(self) -> Exception | None:
        """The error that stopped a heartbeater (reaped, revoked key, unknown run)."""
        for beater in self._beaters:
            if beater.error is not None:
                return beater.error
        return None

    def _raise_if_stopped(self) -> None:
        # Every later lifecycle or upload call raises it without asking the server.
        error = self._stopped_by()
        if error is not None:
            raise error

"""The whole-project index: roots, module names, resolution, classes, calls, facts."""

from __future__ import annotations

import os
import pickle
import textwrap
from pathlib import Path
from typing import Any, Dict, List

import libcst as cst
import pytest

from opslint import project
from opslint.config import ConfigResolver, Overrides, Settings, project_exclusion
from opslint.engine import Linter
from opslint.project import EntrySpec, ModuleInfo, ProjectIndex, find_root, module_names, summarise
from opslint.registry import Registry
from opslint.rule import Rule
from opslint.runner import RunOptions, run


def _write(root: Path, files: Dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture(autouse=True)
def _fresh_indexes() -> Any:
    project.forget()
    yield
    project.forget()


SHOP = {
    "pyproject.toml": "[project]\nname = 'shop'\n",
    "src/shop/__init__.py": "from .models import Order as Order\nfrom shop.services.billing import charge\n",
    "src/shop/db.py": """
        from sqlalchemy.orm import DeclarativeBase

        class Base(DeclarativeBase):
            pass
    """,
    "src/shop/models.py": """
        from shop.db import Base

        class TimestampMixin:
            pass

        class Order(TimestampMixin, Base):
            pass

        class RushOrder(Order):
            pass
    """,
    "src/shop/services/__init__.py": "",
    "src/shop/services/billing.py": """
        import threading
        from shop import Order

        _lock = threading.Lock()

        def charge(order):
            with _lock:
                _post(order)

        def _post(order):
            return order

        class Biller:
            def __init__(self):
                self.lock = threading.RLock()

            def run(self, order):
                with self.lock:
                    self.step(order)

            def step(self, order):
                charge(order)
    """,
    "jobs/nightly.py": """
        from shop import charge as do_charge
        from shop.services.billing import Biller

        def main():
            do_charge(None)
            Biller().run(None)

        if __name__ == "__main__":
            main()
    """,
}


def _index(tmp_path: Path, files: Dict[str, str] = SHOP) -> ProjectIndex:
    _write(tmp_path, files)
    return project.index_for(str(tmp_path / "jobs" / "nightly.py"))


def test_root_is_the_nearest_marker(tmp_path: Path) -> None:
    _write(tmp_path, SHOP)
    assert find_root(str(tmp_path / "src" / "shop" / "services" / "billing.py")) == str(tmp_path)
    assert find_root(str(tmp_path / "jobs")) == str(tmp_path)


def test_root_without_marker_is_above_the_top_package(tmp_path: Path) -> None:
    _write(tmp_path, {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/mod.py": "x = 1\n"})
    root = find_root(str(tmp_path / "pkg" / "sub" / "mod.py"))
    # tmp_path itself has no marker; its parents might (the test runs inside a repo).
    assert root == str(tmp_path) or any(os.path.exists(os.path.join(root, m)) for m in project.ROOT_MARKERS)


def test_module_names_src_layout_and_namespace_packages(tmp_path: Path) -> None:
    _write(tmp_path, SHOP)
    root = str(tmp_path)
    assert module_names(str(tmp_path / "src/shop/services/billing.py"), root)[0] == "shop.services.billing"
    assert module_names(str(tmp_path / "src/shop/__init__.py"), root)[:1] == ("shop",)
    assert module_names(str(tmp_path / "src/shop/__init__.py"), root)[2] is True
    # jobs/ has no __init__.py: a namespace package relative to the root.
    assert module_names(str(tmp_path / "jobs/nightly.py"), root)[0] == "jobs.nightly"


def test_resolve_follows_reexports(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index.resolve("jobs.nightly", "do_charge") == "shop.services.billing.charge"
    assert index.resolve("shop.services.billing", "Order") == "shop.models.Order"
    assert index.resolve("jobs.nightly", "Biller") == "shop.services.billing.Biller"
    assert index.resolve("jobs.nightly", "nope") is None
    assert index.module_of(str(tmp_path / "jobs/nightly.py")) == "jobs.nightly"


def test_class_hierarchy_across_files(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index.class_bases("shop.models.Order") == ("shop.models.TimestampMixin", "shop.db.Base")
    assert index.is_subclass("shop.models.RushOrder", ["sqlalchemy.orm.DeclarativeBase"])
    assert index.is_subclass("shop.Order", ["sqlalchemy.orm.DeclarativeBase"])
    assert not index.is_subclass("shop.models.TimestampMixin", ["sqlalchemy.orm.DeclarativeBase"])
    assert index.subclasses_of(["sqlalchemy.orm.DeclarativeBase"]) == {
        "shop.db.Base",
        "shop.models.Order",
        "shop.models.RushOrder",
    }


def test_functions_calls_and_with_items(tmp_path: Path) -> None:
    index = _index(tmp_path)
    charge = index.function("shop.charge")
    assert charge is not None and charge.qualname == "shop.services.billing.charge"
    (post,) = [s for s in charge.calls if s.callee.endswith("_post")]
    assert post.with_items == ("threading.Lock()",)
    run_ = index.function("shop.services.billing.Biller.run")
    assert run_ is not None and run_.calls[0].with_items == ("threading.RLock()",)
    callers = {(fn.qualname, site.span.line) for fn, site in index.callers("shop.services.billing.charge")}
    assert ("jobs.nightly.main", 6) in callers
    assert ("shop.services.billing.Biller.step", 23) in callers
    callees = [target for _, target in index.callees("jobs.nightly.main")]
    assert callees == [
        "shop.services.billing.charge",
        "shop.services.billing.Biller.__init__",
        "shop.services.billing.Biller.run",
    ]
    main = index.function("jobs.nightly.<main>")
    assert main is not None and main.kind == "main"
    assert [t for _, t in index.callees("jobs.nightly.<main>")] == ["jobs.nightly.main"]


def test_call_site_spans_are_code_point_columns(tmp_path: Path) -> None:
    text = 'def f():\n    x = "é" ; g()\n\ndef g():\n    pass\n'
    summary = summarise(str(tmp_path / "m.py"), text, "m", "", False)
    (site,) = summary.functions["m.f"].calls
    assert (site.span.line, site.span.column) == (2, 15)
    assert text[site.span.start : site.span.end] == "g()"


def test_guards_and_finally(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """
        def stage(job):
            if not try_lock(job):
                queue(job)
                return
            try:
                work(job)
            finally:
                unlock(job)
        """
    )
    summary = summarise("m.py", text, "m", "", False)
    calls = {s.callee: s for s in summary.functions["m.stage"].calls}
    assert calls["queue"].neg_guards == (calls["try_lock"].index,)
    assert calls["work"].neg_guards == () and calls["work"].index > calls["try_lock"].index
    assert calls["unlock"].in_finally and not calls["work"].in_finally


def test_summaries_pickle(tmp_path: Path) -> None:
    index = _index(tmp_path)
    for summary in index.modules.values():
        assert pickle.loads(pickle.dumps(summary)) == summary


def test_entry_points_from_a_spec(tmp_path: Path) -> None:
    files = dict(SHOP)
    files["src/shop/schedule.py"] = """
        from apscheduler.schedulers.blocking import BlockingScheduler
        from shop.services import billing

        sched = BlockingScheduler()

        @sched.scheduled_job("cron", hour=5)
        def nightly():
            billing.charge(None)

        def setup():
            sched.add_job(billing.Biller().run, "interval", minutes=5)
            sched.add_job(func=billing.charge, trigger="cron")
    """
    files["src/shop/celeryconfig.py"] = """
        beat_schedule = {"refresh": {"task": "shop.services.billing.charge", "schedule": 60.0}}
    """
    index = _index(tmp_path, files)
    spec = EntrySpec(
        decorators={"scheduled_job": "APScheduler job"},
        register_calls={"add_job": ("APScheduler job", 0, "func")},
        schedule_assignments={"beat_schedule": ("Celery beat", "task")},
        main_kind="__main__ script",
    )
    entries = index.entry_points(spec)
    assert [e.kind for e in entries["shop.schedule.nightly"]] == ["APScheduler job"]
    kinds = sorted(e.kind for e in entries["shop.services.billing.charge"])
    assert kinds == ["APScheduler job", "Celery beat"]
    assert "jobs.nightly.<main>" in entries
    reach = {e.function for e in index.reaching_entries("shop.services.billing._post", spec)}
    assert reach == {
        "shop.schedule.nightly",
        "shop.services.billing.charge",
        "shop.services.billing.Biller.run",  # add_job(billing.Biller().run): a bound method
        "jobs.nightly.<main>",
    }


@pytest.fixture
def facts_rule() -> Registry:
    """The shipped rules plus a test-only project rule."""

    class FactsProbe(Rule):
        """Records class names per module."""

        code = "OPS998"
        name = "facts-probe"
        message = "{what}"
        tokens = ("class",)
        needs_project = True
        project_tokens = ("class ",)
        default_enabled = False

        @classmethod
        def project_facts(cls, module: cst.Module, info: ModuleInfo) -> Any:
            return sorted(s.name.value for s in module.body if isinstance(s, cst.ClassDef))

        def visit_Module(self, node: cst.Module) -> None:
            assert self.ctx.project is not None
            facts = self.ctx.project.facts(self.code)
            if facts.get("shop.models") == ["Order", "RushOrder", "TimestampMixin"]:
                self.report(node, what="facts seen")

    return Registry.default().extended([FactsProbe])


def test_rule_facts_and_ctx_project(tmp_path: Path, facts_rule: Registry) -> None:
    _write(tmp_path, SHOP)
    path = str(tmp_path / "src/shop/models.py")
    text = (tmp_path / "src/shop/models.py").read_text()
    settings = Settings(root=str(tmp_path), select=("OPS998",))
    findings = Linter(registry=facts_rule, strict=True).lint_text(text, path, settings).findings
    assert [f.message for f in findings] == ["facts seen"]
    index = project.index_for(path)
    assert "jobs.nightly" not in index.facts("OPS998")  # no "class " token there


def test_a_buffer_the_index_declines_leaves_the_saved_facts(tmp_path: Path, facts_rule: Registry) -> None:
    """The language server's unsaved buffer that changes a module's shape is not taken
    (``keep_shape``): the module's facts stay those of the saved file, not None."""
    _write(tmp_path, SHOP)
    rules = [r for r in facts_rule.rules() if r.code == "OPS998"]
    path = str(tmp_path / "src/shop/models.py")
    index = project.index_for(path, rules)
    saved = index.fact("shop.models", "OPS998")
    assert saved == ["Order", "RushOrder", "TimestampMixin"]
    index.refresh(path, (tmp_path / "src/shop/models.py").read_text() + "\nclass Extra:\n    pass\n", keep_shape=True)
    index._fact_memo.clear()  # as a later question would find it: computed again from the text
    assert index.fact("shop.models", "OPS998") == saved


def test_refresh_uses_the_buffer(tmp_path: Path) -> None:
    index = _index(tmp_path)
    path = str(tmp_path / "jobs/nightly.py")
    index.refresh(path, "def other():\n    pass\n")
    assert index.function("jobs.nightly.other") is not None
    assert index.function("jobs.nightly.main") is None
    assert not index.callers("shop.services.billing.Biller.run")


def test_runner_builds_and_pins_once(tmp_path: Path, facts_rule: Registry) -> None:
    _write(tmp_path, SHOP)
    resolver = ConfigResolver(Overrides(select=("OPS998",)), cwd=str(tmp_path), catalog=facts_rule)
    result = run([str(tmp_path)], resolver, RunOptions(strict=True, jobs=1), cwd=str(tmp_path))
    paths: List[str] = sorted(f.path for f in result.findings if f.message == "facts seen")
    assert paths == ["src/shop/db.py", "src/shop/models.py", "src/shop/services/billing.py"]
    index = project.index_for(str(tmp_path))
    assert not index.pinned


def test_nested_projects_are_not_indexed(tmp_path: Path) -> None:
    _write(tmp_path, SHOP)
    _write(tmp_path / "vendor" / "other", {"pyproject.toml": "", "other.py": "def f():\n    pass\n"})
    index = project.index_for(str(tmp_path / "jobs/nightly.py"))
    assert not any(m.startswith("vendor") for m in index.modules)


# -- OPS401 over the project fixtures ---------------------------------------------------

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "OPS401")
OPS401_PROJECTS = sorted(
    name for name in os.listdir(FIXTURES) if os.path.exists(os.path.join(FIXTURES, name, "pyproject.toml"))
)


def _key(finding: Any) -> Any:
    return (finding.path, finding.span, finding.code, finding.message, finding.related)


def _whole(folder: str) -> List[Any]:
    resolver = ConfigResolver(Overrides(select=("OPS401",)), cwd=folder, catalog=Registry.default())
    result = run([folder], resolver, RunOptions(strict=True, jobs=1), cwd=folder)
    return sorted((_key(f) for f in result.findings), key=repr)


@pytest.mark.parametrize("name", OPS401_PROJECTS)
def test_single_file_runs_match_the_whole_project(name: str) -> None:
    folder = os.path.join(FIXTURES, name)
    whole = _whole(folder)
    files = [os.path.join(d, f) for d, _, names in os.walk(folder) for f in names if f.endswith(".py")]
    resolver = ConfigResolver(Overrides(select=("OPS401",)), cwd=folder, catalog=Registry.default())
    single_engine = []
    single_cli = []
    for path in sorted(files):
        project.forget()  # as a fresh flake8/LSP/pre-commit process would
        found = Linter(strict=True, cwd=folder).lint_file(path, resolver.for_path(path)).findings
        single_engine.extend(_key(f) for f in found)
        project.forget()
        result = run([path], resolver, RunOptions(strict=True, jobs=1), cwd=folder)
        single_cli.extend(_key(f) for f in result.findings)
    assert sorted(single_engine, key=repr) == whole
    assert sorted(single_cli, key=repr) == whole


def test_incident_002_shows_both_paths() -> None:
    folder = os.path.join(FIXTURES, "incident_naver_import")
    resolver = ConfigResolver(Overrides(select=("OPS401",)), cwd=folder, catalog=Registry.default())
    result = run([folder], resolver, RunOptions(strict=True, jobs=1), cwd=folder)
    (finding,) = result.findings
    assert finding.path == "reports/jobs/auto_update.py"
    assert finding.fix is not None and finding.fix.applicability.value == "suggestion"
    places = {(r.path, r.span.line) for r in finding.related}
    assert ("reports/services/importer.py", 18) in places  # acquire_api_key(...) in stage 1
    assert ("reports/services/importer.py", 24) in places  # stage 2 called under the lock
    assert ("reports/jobs/auto_update.py", 11) in places  # the 05:00 scheduled_job
    assert not _whole(os.path.join(FIXTURES, "ok_incident_naver_import_fixed"))


def test_editor_buffer_changes_findings_without_saving(tmp_path: Path) -> None:
    """The LSP lints unsaved text: the index uses it for that file."""
    folder = tmp_path / "proj"
    _write(
        folder,
        {
            "pyproject.toml": "",
            "app/__init__.py": "",
            "app/stage.py": """
                import threading

                _lock = threading.Lock()

                def start(job):
                    with _lock:
                        run(job)

                def run(job):
                    pass
            """,
            "app/job.py": """
                import schedule
                from app.stage import start

                def nightly():
                    start(None)

                schedule.every().day.do(nightly)
            """,
        },
    )
    job = str(folder / "app/job.py")
    settings = Settings(root=str(folder), select=("OPS401",))
    linter = Linter(strict=True, cwd=str(folder))
    assert not linter.lint_file(job, settings).findings
    edited = (folder / "app/job.py").read_text().replace("from app.stage import start", "from app.stage import run")
    edited = edited.replace("    start(None)", "    run(None)")
    found = linter.lint_text(edited, job, settings).findings
    assert [(f.code, f.span.line) for f in found] == [("OPS401", 6)]


def test_broken_files_do_not_break_the_index(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": "",
            "py2.py": "print 'hello'\n",
            "deep.py": "x = " + "(" * 300 + "1" + ")" * 300 + "\n",
            "ok.py": "def f():\n    pass\n",
        },
    )
    (tmp_path / "latin1.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n")
    index = project.index_for(str(tmp_path / "ok.py"))
    assert index.modules["py2"].error.startswith("SyntaxError")
    assert index.function("ok.f") is not None
    assert "latin1" in index.modules


def test_result_cache_sees_changes_in_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    _write(
        folder,
        {
            "pyproject.toml": "",
            "app/__init__.py": "",
            "app/stage.py": """
                import threading

                _lock = threading.Lock()

                def start(job):
                    run(job)

                def run(job):
                    pass
            """,
            "app/job.py": """
                import schedule
                from app.stage import run

                def nightly():
                    run(None)

                schedule.every().day.do(nightly)
            """,
        },
    )
    resolver = ConfigResolver(Overrides(select=("OPS401",)), cwd=str(folder), catalog=Registry.default())
    options = RunOptions(strict=True, jobs=1, cache_dir=str(tmp_path / "cache"))
    assert not run([str(folder)], resolver, options, cwd=str(folder)).findings
    stage = folder / "app/stage.py"
    stage.write_text(stage.read_text().replace("    run(job)", "    with _lock:\n        run(job)"))
    found = run([str(folder)], resolver, options, cwd=str(folder)).findings
    assert [(f.path, f.span.line) for f in found] == [("app/job.py", 6)]


def test_standard_library_packages_index_without_error() -> None:
    """A slice of the standard library (the full run is measured in the report).

    Only facts true of every supported Python (3.9-3.13) are asserted: the
    sources differ between versions."""
    import asyncio
    import email
    import logging

    stdlib = os.path.dirname(os.path.dirname(logging.__file__))
    files: List[str] = []
    for package in (asyncio, email, logging):
        folder = os.path.dirname(package.__file__ or "")
        files.extend(os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".py"))
    index = ProjectIndex(stdlib).build(jobs=1, files=files)
    assert not [m.name for m in index.modules.values() if m.error]
    assert index.is_subclass("asyncio.locks.Lock", ["asyncio.locks._ContextManagerMixin"])
    assert index.resolve("asyncio", "Lock") == "asyncio.locks.Lock"
    assert index.callers("logging.Logger._log")
    from opslint.rules.ops401_lock_stage_bypass import LockStageBypass, analyse

    assert not analyse(index, LockStageBypass.Options()).by_path


def test_edits_that_only_move_code_keep_the_analysis(tmp_path: Path) -> None:
    """A fix loop or an editor shifting lines must not recompute the project analysis."""
    from opslint.rules.ops401_lock_stage_bypass import LockStageBypass, analyse

    folder = os.path.join(FIXTURES, "incident_naver_import")
    job = os.path.join(folder, "reports", "jobs", "auto_update.py")
    with open(job, encoding="utf-8") as handle:
        text = handle.read()
    settings = ConfigResolver(Overrides(select=("OPS401",)), cwd=folder, catalog=Registry.default()).for_path(job)
    linter = Linter(strict=True, cwd=folder)
    (before,) = linter.lint_text(text, job, settings).findings
    index = project.index_for(job)
    analysis = analyse(index, LockStageBypass.Options())
    moved = text.replace('"""The 05:00', '# scheduled by ops\n\n"""The 05:00', 1)
    (after,) = linter.lint_text(moved, job, settings).findings
    assert analyse(index, LockStageBypass.Options()) is analysis
    assert after.span.line == before.span.line + 2
    entry = [r for r in after.related if r.message.startswith("scheduled entry point")][0]
    assert entry.span.line == 13
    # A real change (the job now goes through the stage) is seen at once.
    fixed = moved.replace("import_raw_data(raw, entry)  # expect: OPS401", "start_import(raw)").replace(
        "import import_raw_data", "import import_raw_data, start_import"
    )
    assert not linter.lint_text(fixed, job, settings).findings
    assert len(linter.lint_text(text, job, settings).findings) == 1


def test_summaries_are_kept_on_disk_between_processes(tmp_path: Path) -> None:
    _write(tmp_path / "proj", SHOP)
    cache = tmp_path / "cache"
    first = project.index_for(str(tmp_path / "proj/jobs/nightly.py"), cache_dir=str(cache))
    stored = [p for p in cache.rglob("*") if p.is_file() and "index" in p.parts]
    assert len(stored) == len(first.modules)
    project.forget()
    project._SUMMARY_CACHE.clear()  # as a new process
    second = project.index_for(str(tmp_path / "proj/jobs/nightly.py"), cache_dir=str(cache))
    assert second.modules == first.modules
    assert second.callers("shop.services.billing.charge")


def test_persistent_memo_is_kept_on_disk_until_the_project_changes(tmp_path: Path) -> None:
    _write(tmp_path / "proj", SHOP)
    cache = str(tmp_path / "cache")
    calls: List[int] = []

    def analyse() -> Dict[str, int]:
        calls.append(1)
        return {"answer": 42}

    first = project.index_for(str(tmp_path / "proj/jobs/nightly.py"), cache_dir=cache)
    assert first.memo(("test", "analysis"), analyse, persist=True) == {"answer": 42}
    project.forget()
    project._SUMMARY_CACHE.clear()  # as a new process
    second = project.index_for(str(tmp_path / "proj/jobs/nightly.py"), cache_dir=cache)
    assert second.memo(("test", "analysis"), analyse, persist=True) == {"answer": 42}
    assert len(calls) == 1
    (tmp_path / "proj/jobs/nightly.py").write_text("x = 1\n", encoding="utf-8")
    project.forget()
    third = project.index_for(str(tmp_path / "proj/jobs/nightly.py"), cache_dir=cache)
    third.memo(("test", "analysis"), analyse, persist=True)
    assert len(calls) == 2


def test_cached_summaries_keep_the_file_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two scripts may both be imported as "run": the first file walked keeps the
    # alias, also when its summary is computed by the pool and the other is cached.
    monkeypatch.setattr(project.build, "PARALLEL_THRESHOLD", 1)
    _write(tmp_path / "proj", {"pyproject.toml": "", "a/run.py": "A = 1\n", "b/run.py": "B = 1\n"})
    cache = str(tmp_path / "cache")
    cold = project.index_for(str(tmp_path / "proj/a/run.py"), cache_dir=cache, jobs=2)
    assert cold.alias_modules["run"] == "a.run"
    project.forget()
    project._SUMMARY_CACHE.clear()
    os.remove(next(p for p in Path(cache).rglob("*") if p.is_file() and b"a/run.py" in p.read_bytes()))
    warm = project.index_for(str(tmp_path / "proj/a/run.py"), cache_dir=cache, jobs=2)
    assert warm.alias_modules == cold.alias_modules and warm.modules == cold.modules


def test_root_search_stops_at_installed_code(tmp_path: Path) -> None:
    # ~/.pyenv is a git checkout: the standard library inside it is not part of it.
    _write(tmp_path, {".git/HEAD": "", "lib/python3.11/json/__init__.py": "", "lib/python3.11/site-packages/x.py": ""})
    assert find_root(str(tmp_path / "lib/python3.11/json/__init__.py")) == str(tmp_path / "lib/python3.11")
    assert find_root(str(tmp_path / "lib/python3.11/site-packages/x.py")) == str(
        tmp_path / "lib/python3.11/site-packages"
    )


def test_files_the_index_leaves_out_do_not_change_it(tmp_path: Path) -> None:
    """Linting files under build/ one by one (a site-packages holds a ``build``
    package) used to add each to the index and redo every project analysis per file:
    13 s and tens of megabytes each with OPS401 on a site-packages."""
    index = _index(tmp_path)
    calls: List[int] = []

    def analyse() -> int:
        calls.append(1)
        return len(calls)

    index.memo(("test", "left-out"), analyse)
    before = index.fingerprint()
    built = tmp_path / "build/lib/shop/extra.py"
    built.parent.mkdir(parents=True)
    built.write_text("def copied():\n    pass\n", encoding="utf-8")
    index.refresh(str(built), built.read_text(encoding="utf-8"))
    assert index.fingerprint() == before
    assert index.memo(("test", "left-out"), analyse) == 1 and len(calls) == 1
    # A new file where the index walks is part of the project at once.
    new = tmp_path / "jobs/weekly.py"
    new.write_text("def weekly():\n    pass\n", encoding="utf-8")
    index.refresh(str(new), new.read_text(encoding="utf-8"))
    assert index.function("jobs.weekly.weekly") is not None


def test_the_index_honours_the_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 7, item 6: a file too large to lint is not summarised either (a 6 MB
    generated module took 288 s and 4.6 GB to index once OPS502 needed the index)."""
    from opslint import source

    monkeypatch.setattr(source, "MAX_FILE_BYTES", 2_000)
    _write(
        tmp_path,
        {"pyproject.toml": "", "gen/big.py": "def f(x):\n    return x\n" * 200, "app.py": "def g():\n    pass\n"},
    )
    index = project.index_for(str(tmp_path / "app.py"), fresh=True)
    assert index.function("app.g") is not None
    assert index.function("gen.big.f") is None and "gen.big" in index.modules


def test_the_index_leaves_out_what_the_projects_configuration_excludes(tmp_path: Path) -> None:
    """A project's test fixtures or vendored code, kept out of linting by its
    configuration, were indexed anyway (opslint's own checkout: 1,070 files summarised,
    53 s, to lint the three files of examples/)."""
    files = dict(SHOP)
    files["pyproject.toml"] = '[tool.opslint]\nextend-exclude = ["fixtures", "vendor/*.py"]\n'
    files["fixtures/case.py"] = "def charge_twice():\n    pass\n"
    files["vendor/lib.py"] = "def vendored():\n    pass\n"
    files["vendor/keep/kept.py"] = "def kept():\n    pass\n"
    _write(tmp_path, files)
    entry = str(tmp_path / "jobs/nightly.py")
    index = project.index_for(entry, exclusion=project_exclusion)
    assert "shop.services.billing" in index.modules and "vendor.keep.kept" in index.modules
    assert not any(m.startswith("fixtures") for m in index.modules) and "vendor.lib" not in index.modules
    # The CLI and the engine (flake8, the language server) see the same files.
    project.forget()
    needing = [r for r in Registry.default().rules() if r.needs_project]
    linter_index = Linter()._project(needing, entry, (tmp_path / "jobs/nightly.py").read_text(encoding="utf-8"))
    assert linter_index is not None and set(linter_index.modules) == set(index.modules)
    # Linted by name, an excluded file joins: the analyses see the file they report on.
    case = tmp_path / "fixtures/case.py"
    linter_index.refresh(str(case), case.read_text(encoding="utf-8"))
    assert linter_index.function("fixtures.case.charge_twice") is not None
    # Without a configuration that excludes anything, everything is indexed.
    project.forget()
    assert "vendor.lib" in project.index_for(entry).modules


def test_excluded_files_named_on_the_command_line_join_the_index_before_workers_fork(tmp_path: Path) -> None:
    files = dict(SHOP)
    files["pyproject.toml"] = '[tool.opslint]\nextend-exclude = ["scripts"]\n'
    files["scripts/backfill.py"] = "from shop.services.billing import charge\n\ndef backfill():\n    charge(1)\n"
    _write(tmp_path, files)
    named = [str(tmp_path / "scripts/backfill.py"), str(tmp_path / "jobs/nightly.py")]
    registry = Registry.default()
    needing = [r for r in registry.rules() if r.needs_project]
    ((index, _, _),) = project.prepare(named, lambda path: needing, exclusion=project_exclusion)
    assert index.function("scripts.backfill.backfill") is not None
    assert "shop.models" in index.modules


def test_module_facts_reads_only_the_modules_asked_for(tmp_path: Path, facts_rule: Registry) -> None:
    _write(tmp_path / "proj", SHOP)
    cache = str(tmp_path / "cache")
    rules = [r for r in facts_rule.rules() if r.code == "OPS998"]
    entry = str(tmp_path / "proj/jobs/nightly.py")
    everything = dict(project.index_for(entry, rules, cache_dir=cache).facts("OPS998"))
    assert len(everything) > 1
    project.forget()
    project._SUMMARY_CACHE.clear()  # as a new process: summaries load from disk on use
    index = project.index_for(entry, rules, cache_dir=cache)
    view = index.module_facts("OPS998")
    name = sorted(everything)[0]
    assert view[name] == everything[name]
    # Only that module's fact was read (from the cache folder), and no summary was loaded.
    assert [m for m in index.modules if index.modules.is_loaded(m)] == []
    assert set(index._fact_memo) == {(name, "OPS998")}
    assert dict(view) == everything


def test_call_site_strings_are_shared_however_a_summary_arrives(tmp_path: Path) -> None:
    """Two modules' call sites of the same callee hold one string object after pickling (an
    index worker's result) and after the JSON store: the strings of call sites are most of
    an index's memory (issue 7: 500 MB per process)."""
    from opslint.cache import Store, digest

    def join(name: str) -> Any:
        text = "import os\n\ndef f():\n    os.path.join(str(1), 'a')\n"
        summary = summarise(str(tmp_path / f"{name}.py"), text, name, "", False, str(tmp_path))
        return summary.functions[f"{name}.f"].calls[-1]

    one, two = join("one"), join("two")
    unpickled = pickle.loads(pickle.dumps(one)), pickle.loads(pickle.dumps(two))
    store = Store(str(tmp_path / "cache"))
    keys = digest("one"), digest("two")
    for key, site in zip(keys, (one, two)):
        store.put("index", key, site, project.CallSite)
    decoded = tuple(store.get("index", key, project.CallSite) for key in keys)
    for first, second in [(one, two), unpickled, decoded]:
        assert first == second
        assert first.callee == "os.path.join"
        assert first.callee is second.callee
        assert first.args[0] is second.args[0]


def test_a_named_directory_without_markers_is_one_project(tmp_path: Path) -> None:
    # A cron script in ``bin/`` (not a package) calls a function of the ``inventory``
    # package beside it; no folder holds a root marker.  Checking the directory sees one
    # project, so the script's call without the lock is found.
    files = {
        "inventory/__init__.py": "",
        "inventory/sync.py": textwrap.dedent(
            """\
            import threading

            sync_lock = threading.Lock()


            def sync_inventory(warehouse):
                warehouse.push(warehouse.read_levels())


            def trigger_sync(warehouse):
                with sync_lock:
                    sync_inventory(warehouse)
            """
        ),
        "bin/nightly_sync.py": textwrap.dedent(
            """\
            from inventory.sync import sync_inventory


            def main(warehouse):
                sync_inventory(warehouse)


            if __name__ == "__main__":
                main(None)
            """
        ),
    }
    _write(tmp_path, files)
    if any(os.path.exists(os.path.join(parent, m)) for parent in tmp_path.parents for m in project.ROOT_MARKERS):
        pytest.skip("a folder above the temporary directory holds a root marker")
    resolver = ConfigResolver(Overrides(select=("OPS401",)), cwd=str(tmp_path), catalog=Registry.default())
    result = run([str(tmp_path)], resolver, RunOptions(strict=True, jobs=1), cwd=str(tmp_path))
    assert [(f.path, f.code) for f in result.findings] == [("bin/nightly_sync.py", "OPS401")]
    assert find_root(str(tmp_path / "bin" / "nightly_sync.py")) == str(tmp_path)
    project.name_directories([])
    assert find_root(str(tmp_path / "bin" / "nightly_sync.py")) == str(tmp_path / "bin")

"""Entry-point detection (opslint/analysis/entrypoints.py)."""

from __future__ import annotations

import os
import textwrap
from typing import Dict, List, Optional, Tuple

import libcst as cst
import pytest

from opslint.analysis.entrypoints import (
    EntryKind,
    EntryPoint,
    EntryPointConfig,
    ProjectFacts,
    clear_cache,
    find_entry_points,
    is_main_guard,
    project_facts,
)
from opslint.syntax.names import ImportTable


def _entries(
    src: str,
    *,
    path: Optional[str] = None,
    module_name: Optional[str] = None,
    config: Optional[EntryPointConfig] = None,
    facts: Optional[ProjectFacts] = None,
) -> List[EntryPoint]:
    module = cst.parse_module(textwrap.dedent(src))
    imports = ImportTable("")
    imports.add_top_level(module.body)
    return find_entry_points(
        module,
        imports,
        path=path,
        module_name=module_name,
        config=config or EntryPointConfig(),
        facts=facts or ProjectFacts(),
    )


def _kinds(entries: List[EntryPoint]) -> Dict[str, EntryKind]:
    return {e.name if e.class_name is None else f"{e.class_name}.{e.name}": e.kind for e in entries}


def test_main_block_and_the_functions_it_calls() -> None:
    entries = _entries(
        """
        import asyncio, sys

        def helper(): ...
        def main(): helper()
        async def amain(): ...

        if __name__ == "__main__":
            sys.exit(main())
            asyncio.run(amain())
        """
    )
    kinds = _kinds(entries)
    assert kinds == {"__main__": EntryKind.MAIN_BLOCK, "main": EntryKind.MAIN_CALLEE, "amain": EntryKind.MAIN_CALLEE}
    amain = next(e for e in entries if e.name == "amain")
    assert amain.is_async and amain.atexit_runs and amain.via is not None
    assert "helper" not in kinds  # called by main, not by the block


@pytest.mark.parametrize("guard", ['__name__ == "__main__"', "'__main__' == __name__"])
def test_main_guard_both_orders(guard: str) -> None:
    stmt = cst.parse_statement(f"if {guard}:\n    pass\n")
    assert is_main_guard(stmt)
    assert not is_main_guard(cst.parse_statement("if __name__ != '__main__':\n    pass\n"))


def test_click_and_typer_commands() -> None:
    kinds = _kinds(
        _entries(
            """
            import click
            import typer as t
            from click import command

            app = t.Typer()

            @click.group()
            def cli(): ...

            @cli.command("sync")
            def sync(): ...

            @command()
            def standalone(): ...

            @app.command()
            def run(): ...

            @app.callback()
            def root(): ...

            def plain(): ...
            """
        )
    )
    assert kinds == {
        "cli": EntryKind.CLI_COMMAND,
        "sync": EntryKind.CLI_COMMAND,
        "standalone": EntryKind.CLI_COMMAND,
        "run": EntryKind.CLI_COMMAND,
        "root": EntryKind.CLI_COMMAND,
    }


def test_django_management_command() -> None:
    kinds = _kinds(
        _entries(
            """
            from django.core.management.base import BaseCommand

            class Command(BaseCommand):
                def add_arguments(self, parser): ...
                def handle(self, *args, **options): ...

            class NotACommand:
                def handle(self): ...
            """
        )
    )
    assert kinds == {"Command.handle": EntryKind.DJANGO_COMMAND}


def test_serverless_handlers_never_benefit_from_atexit() -> None:
    entries = _entries(
        """
        import functions_framework
        from chalice import Chalice
        from aws_lambda_powertools import Logger

        app = Chalice(app_name="x")
        logger = Logger()

        def lambda_handler(event, context): ...
        def process(evt, ctx): ...
        def configured(payload): ...

        @functions_framework.cloud_event
        def on_upload(cloud_event): ...

        @app.on_sqs_message(queue="jobs")
        def on_job(event): ...

        @logger.inject_lambda_context
        def decorated(payload, runtime): ...

        def two_args(a, b): ...
        """,
        config=EntryPointConfig(handler_names=("lambda_handler", "configured")),
    )
    kinds = _kinds(entries)
    for name in ("lambda_handler", "process", "configured", "on_upload", "on_job", "decorated"):
        assert kinds[name] is EntryKind.SERVERLESS, name
    assert "two_args" not in kinds
    assert all(not e.atexit_runs for e in entries)
    assert next(e for e in entries if e.name == "lambda_handler").label == "handler `lambda_handler()`"


def test_serverless_wins_over_main_callee() -> None:
    kinds = _kinds(
        _entries(
            """
            def lambda_handler(event, context): ...

            if __name__ == "__main__":
                lambda_handler({}, None)
            """
        )
    )
    assert kinds["lambda_handler"] is EntryKind.SERVERLESS


def test_run_once_script_without_guard() -> None:
    entries = _entries(
        """
        import asyncio

        async def main(): ...

        asyncio.run(main())
        """,
        path="/srv/jobs/nightly.py",
    )
    assert [e.kind for e in entries] == [EntryKind.SCRIPT]
    assert [type(s).__name__ for s in entries[0].body] == ["SimpleStatementLine", "SimpleStatementLine"]


def test_library_module_has_no_entry_point() -> None:
    assert (
        _entries(
            """
        import posthog

        def track(user):
            posthog.capture(user, "x")

        LOGGER = make_logger()
        """,
            path="/srv/lib/track.py",
        )
        == []
    )


def _write(root: str, files: Dict[str, str]) -> None:
    for rel, text in files.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(text))


def test_console_scripts_and_serverless_yml(tmp_path: os.PathLike[str]) -> None:
    clear_cache()
    root = str(tmp_path)
    _write(
        root,
        {
            "pyproject.toml": """
                [project]
                name = "tool"
                [project.scripts]
                tool-sync = "tool.cli:sync"
                [tool.poetry.scripts]
                tool-poetry = "tool.cli:other"
            """,
            "serverless.yml": """
                functions:
                  hello:
                    handler: handlers/web.hello
            """,
            "src/tool/__init__.py": "",
            "src/tool/cli.py": "def sync(): ...\ndef other(): ...\ndef helper(): ...\n",
            "handlers/web.py": "def hello(payload, ctx): ...\ndef other(payload, ctx): ...\n",
        },
    )
    cli = os.path.join(root, "src/tool/cli.py")
    with open(cli, encoding="utf-8") as handle:
        kinds = _kinds(_entries(handle.read(), path=cli, module_name="tool.cli", facts=project_facts(cli)))
    assert kinds == {"sync": EntryKind.CONSOLE_SCRIPT, "other": EntryKind.CONSOLE_SCRIPT}
    web = os.path.join(root, "handlers/web.py")
    facts = project_facts(web)
    assert facts.handler_origin(web, "hello") == "serverless.yml"
    with open(web, encoding="utf-8") as handle:
        kinds = _kinds(_entries(handle.read(), path=web, module_name="web", facts=facts))
    assert kinds == {"hello": EntryKind.SERVERLESS}
    clear_cache()


def test_sam_template_with_code_uri(tmp_path: os.PathLike[str]) -> None:
    clear_cache()
    root = str(tmp_path)
    _write(
        root,
        {
            "template.yaml": """
                Resources:
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      CodeUri: src/
                      Handler: app.main
            """,
            "src/app.py": "def main(payload, ctx): ...\n",
        },
    )
    path = os.path.join(root, "src/app.py")
    assert project_facts(path).handler_origin(path, "main") == "template.yaml"
    clear_cache()


def test_extra_entry_points_from_config() -> None:
    kinds = _kinds(
        _entries(
            "def run_job(): ...\n",
            module_name="jobs.nightly",
            config=EntryPointConfig(extra=("jobs.nightly:run_job",)),
        )
    )
    assert kinds == {"run_job": EntryKind.CONSOLE_SCRIPT}


def test_labels() -> None:
    entries = _entries(
        """
        from django.core.management.base import BaseCommand
        class Command(BaseCommand):
            def handle(self): ...
        def main(): ...
        if __name__ == "__main__":
            main()
        """
    )
    labels: List[Tuple[EntryKind, str]] = [(e.kind, e.label) for e in entries]
    assert (EntryKind.DJANGO_COMMAND, "`Command.handle()`") in labels
    assert (EntryKind.MAIN_BLOCK, "the `__main__` block") in labels
    assert (EntryKind.MAIN_CALLEE, "`main()`") in labels


def test_functions_passed_to_runners() -> None:
    kinds = _kinds(
        _entries(
            """
            import typer
            import fire

            def main(name: str): ...
            def other(): ...

            if __name__ == "__main__":
                typer.run(main)
            """
        )
    )
    assert kinds == {"__main__": EntryKind.MAIN_BLOCK, "main": EntryKind.MAIN_CALLEE}


def test_multiprocessing_targets_do_not_run_atexit() -> None:
    entries = _entries(
        """
        import multiprocessing as mp

        def work(n): ...

        def main():
            mp.Process(target=work, args=(1,)).start()
        """
    )
    work = next(e for e in entries if e.name == "work")
    assert work.kind is EntryKind.PROCESS_TARGET and not work.atexit_runs
    assert work.label == "process target `work()`"

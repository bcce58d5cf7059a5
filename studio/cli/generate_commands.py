"""``generate`` and ``jobs``: cloud generation from the command line.

Keys come from the keychain, or ``KILN_MESHY_API_KEY`` / ``KILN_TRIPO_API_KEY``;
endpoints from settings or ``KILN_MESHY_BASE_URL`` / ``KILN_TRIPO_BASE_URL``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from studio.cli import UsageError
from studio.cli.library_commands import open_library
from studio.cli.output import local_time, print_json, record, table
from studio.errors import KilnError
from studio.jobs import JobPaused, Jobs
from studio.jobs.connections import Connections
from studio.library import GenerationRecord, Library
from studio.providers.base import GenerationKind, GenerationRequest, Quality
from studio.settings import load_settings

MISSING_VIEW = "-"


def _jobs(library: Library) -> tuple[Jobs, Connections]:
    from studio.cli.account_commands import credit_gate

    settings = load_settings()
    connections = Connections(settings)
    return Jobs(library, connections, credit_gate(settings)), connections


def _request(args: argparse.Namespace) -> GenerationRequest:
    quality = Quality(args.quality)
    if args.text is not None:
        return GenerationRequest(GenerationKind.TEXT, prompt=args.text, quality=quality)
    if args.image is not None:
        return GenerationRequest(GenerationKind.IMAGE, images=(args.image,), quality=quality)
    views: list[Path | None] = [None if v == MISSING_VIEW else Path(v) for v in args.views]
    if len(views) > 4:
        raise UsageError("--views takes at most four pictures: FRONT LEFT BACK RIGHT")
    views += [None] * (4 - len(views))
    return GenerationRequest(GenerationKind.MULTIVIEW, images=tuple(views), quality=quality)


class _Reporter:
    """Progress on stderr: one line, rewritten in place on a terminal."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._tty = sys.stderr.isatty()
        self._last = ""

    def __call__(self, fraction: float, stage: str) -> None:
        if self._quiet:
            return
        line = f"{stage}… {round(fraction * 100)}%"
        if line == self._last:
            return
        self._last = line
        if self._tty:
            sys.stderr.write(f"\r{line:<60}")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self._tty and self._last and not self._quiet:
            sys.stderr.write("\n")


def _outcome(library: Library, gen: GenerationRecord) -> dict[str, Any]:
    result: dict[str, Any] = {"generation": record(gen)}
    if gen.result_version_id is not None and gen.model_id is not None:
        model = library.get_model(gen.model_id)
        version = next(v for v in library.versions(model.id) if v.id == gen.result_version_id)
        result["model"] = record(model)
        result["version"] = record(version)
    return result


def _finish(library: Library, gen: GenerationRecord, as_json: bool) -> int:
    if gen.status != "succeeded":
        if as_json:
            print_json(_outcome(library, gen))
        raise KilnError(gen.error or f"The generation ended as {gen.status}.")
    outcome = _outcome(library, gen)
    if as_json:
        print_json(outcome)
    else:
        model, version = outcome["model"], outcome["version"]
        print(
            f"Made version {version['number']} of “{model['name']}” (model {model['id']}) "
            f"from generation {gen.id}."
        )
    return 0


def generate(args: argparse.Namespace) -> int:
    request = _request(args)
    with open_library(args) as library:
        jobs, connections = _jobs(library)
        try:
            gen = jobs.request(request, args.provider, model_id=args.model)
            if args.no_wait:
                gen = jobs.submit(gen.id)
                if gen.finished:
                    return _finish(library, gen, args.json)
                if args.json:
                    print_json({"generation": record(gen)})
                else:
                    print(f"Sent as generation {gen.id}; `jobs resume` follows it to the end.")
                return 0
            reporter = _Reporter(args.json)
            try:
                gen = jobs.run(gen.id, progress=reporter)
            finally:
                reporter.done()
            return _finish(library, gen, args.json)
        except JobPaused as exc:
            raise KilnError(f"{exc} Run `jobs resume` then.") from exc
        finally:
            connections.close()


def list_(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        generations = library.generations()
        if args.json:
            print_json({"generations": [record(g) for g in generations]})
            return 0
        if not generations:
            print("No generations yet.")
            return 0
        rows = [
            [
                str(g.id),
                g.provider,
                g.kind,
                (g.prompt[:40] + "…") if len(g.prompt) > 40 else g.prompt,
                g.status,
                f"{g.progress}%",
                local_time(g.created_at),
            ]
            for g in generations
        ]
        print(table(["ID", "Provider", "Kind", "Prompt", "Status", "Progress", "Asked"], rows))
    return 0


def resume(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        jobs, connections = _jobs(library)
        failures = 0
        try:
            pending = jobs.unfinished()
            if not pending:
                print("No unfinished generations.")
                return 0
            for gen in pending:
                reporter = _Reporter(args.json)
                try:
                    final = jobs.run(gen.id, progress=reporter)
                except JobPaused as exc:
                    print(f"Generation {gen.id}: {exc}", file=sys.stderr)
                    failures += 1
                    continue
                finally:
                    reporter.done()
                if final.status == "succeeded":
                    print(f"Generation {final.id}: done.")
                else:
                    print(f"Generation {final.id}: {final.error or final.status}", file=sys.stderr)
                    failures += 1
        finally:
            connections.close()
    return 1 if failures else 0


def cancel(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        jobs, connections = _jobs(library)
        try:
            gen = jobs.cancel_pending(args.job)
        finally:
            connections.close()
        print(gen.error or f"Generation {gen.id} is {gen.status}.")
    return 0

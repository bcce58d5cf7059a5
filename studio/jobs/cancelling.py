"""What cancelling a generation does to credits: one table, per provider and stage.

The prompt panel shows :func:`cancel_consequence` next to Cancel *before* the click, and
the job records :func:`cancel_outcome` as the generation's status line *after* it, so
the designer is never told "Cancelled" while a provider goes on charging.

What the providers do (``../shared/reference/providers.md`` and the sources named here):

- **Meshy** takes its credits when it accepts a task. Cancelling is ``DELETE`` of the
  task. A task deleted while still ``PENDING`` is refunded; one that has started
  (``IN_PROGRESS``) keeps its credits — Meshy's own MCP server (``meshy_cancel_task``,
  v0.6.4) says so ⚠️; providers.md is silent. Failed tasks are charged 0 (§1.9).
- **Tripo** V3 has no cancel or delete route (§2.2, §2.11): the task runs to its end
  and is charged; failed tasks are refunded (§2.9).
- **Kiln credits** (signed in) are only held while a generation runs; every end but
  success releases the hold (DESIGN.md, "Generation and credits").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from studio.providers.registry import LABELS


class Stage(enum.Enum):
    """Where a generation is, as far as credits go."""

    UNSENT = "unsent"  # nothing has left the app
    SENDING = "sending"  # the create call is out; the provider may or may not have it
    QUEUED = "queued"  # the provider has it but has not started
    RUNNING = "running"  # the provider is working on it
    FINISHED = "finished"  # the provider is done (downloading / importing here)


#: ``generations.status`` → :class:`Stage`.
STAGE_OF_STATUS = {
    "requested": Stage.UNSENT,
    "submitting": Stage.SENDING,
    "queued": Stage.QUEUED,
    "running": Stage.RUNNING,
    "downloading": Stage.FINISHED,
    "importing": Stage.FINISHED,
}


class StopResult(enum.Enum):
    """What asking the provider to stop came to."""

    NOT_ASKED = "not asked"  # nothing to stop (not sent, or already finished there)
    STOPPED = "stopped"  # the provider stopped / deleted the task
    CANNOT_STOP = "cannot stop"  # the provider has no way to stop a task
    UNREACHABLE = "unreachable"  # the stop request itself failed


@dataclass(frozen=True)
class CancelRule:
    """Cancelling at one provider in one stage: what Cancel will do, and what it did.

    ``{name}`` in either sentence is the provider's label.
    """

    before: str
    after: str


_NOT_SENT = CancelRule(
    before="Nothing has been sent to {name} yet, so cancelling costs nothing there.",
    after="Nothing had been sent to {name}, so it charged nothing.",
)
_FINISHED = CancelRule(
    before="{name} has finished and charged its credits; cancelling now only throws the "
    "model away.",
    after="{name} had already finished and charged its credits; the model was not added.",
)

#: The one table: provider → stage → rule. A provider missing here gets ``_UNKNOWN``.
RULES: dict[str, dict[Stage, CancelRule]] = {
    "meshy": {
        Stage.UNSENT: _NOT_SENT,
        Stage.SENDING: CancelRule(
            before="The request is on its way to Meshy. If Meshy has taken it, cancelling "
            "deletes it from Meshy's queue and Meshy gives its credits back.",
            after="Kiln Studio can't tell whether Meshy received the request; if it did, "
            "Meshy may charge for it. Check your Meshy dashboard.",
        ),
        Stage.QUEUED: CancelRule(
            before="Meshy hasn't started yet: cancelling deletes the task from Meshy's "
            "queue and Meshy gives its credits back.",
            after="Meshy deleted the task from its queue and gives its credits back.",
        ),
        Stage.RUNNING: CancelRule(
            before="Meshy has started: cancelling stops the task, but Meshy keeps the "
            "credits of a task it has started.",
            after="Meshy stopped the task and keeps the credits of a task it had started.",
        ),
        Stage.FINISHED: _FINISHED,
    },
    "tripo": {
        Stage.UNSENT: _NOT_SENT,
        Stage.SENDING: CancelRule(
            before="The request is on its way to Tripo, which can't stop a task: if Tripo "
            "has taken it, it will finish there and charge your Tripo credits.",
            after="Kiln Studio can't tell whether Tripo received the request; if it did, "
            "Tripo will charge for it. Check your Tripo dashboard.",
        ),
        Stage.QUEUED: CancelRule(
            before="Tripo can't stop a task: it will still run there and charge your Tripo "
            "credits (a failed task is refunded). Cancel only stops Kiln Studio waiting.",
            after="Tripo can't stop a task, so it runs on there and charges your Tripo "
            "credits when it finishes.",
        ),
        Stage.RUNNING: CancelRule(
            before="Tripo can't stop a task: it will still finish there and charge your "
            "Tripo credits (a failed task is refunded). Cancel only stops Kiln Studio "
            "waiting.",
            after="Tripo can't stop a task, so it runs on there and charges your Tripo "
            "credits when it finishes.",
        ),
        Stage.FINISHED: _FINISHED,
    },
}

_UNKNOWN = CancelRule(
    before="{name} may still finish the task and charge your {name} credits.",
    after="{name} may still finish the task and charge your {name} credits.",
)
_UNREACHABLE = (
    "Kiln Studio could not reach {name} to stop the task, so it may still finish there "
    "and charge your {name} credits."
)


def stage_of(status: str) -> Stage | None:
    """The credit stage of a generation status; ``None`` once the generation has ended."""
    return STAGE_OF_STATUS.get(status)


def _label(provider: str) -> str:
    return LABELS.get(provider, provider.capitalize())


def _rule(provider: str, stage: Stage) -> CancelRule:
    return RULES.get(provider, {}).get(stage, _UNKNOWN)


def _kiln_before(kiln_held: int | None) -> str:
    if not kiln_held:
        return ""
    return f" Your {kiln_held} Kiln credits on hold are given back."


def cancel_consequence(provider: str, stage: str | Stage, *, kiln_held: int | None = None) -> str:
    """What Cancel will do to credits, said before the designer clicks it.

    Parameters
    ----------
    provider
        The provider's name ("meshy", "tripo").
    stage
        A :class:`Stage` or a ``generations.status`` ("queued", "running", ...).
    kiln_held
        Kiln credits held for the generation (signed in), or ``None``.
    """
    found = stage if isinstance(stage, Stage) else stage_of(stage)
    if found is None:
        return ""
    text = _rule(provider, found).before.format(name=_label(provider))
    return text + _kiln_before(kiln_held)


def cancel_outcome(
    provider: str,
    stage: str | Stage,
    stop: StopResult,
    *,
    kiln_released: int | None = None,
) -> str:
    """What cancelling did, for the generation's status line.

    ``stage`` is where the generation was when the cancel took effect; ``stop`` what
    asking the provider to stop came to; ``kiln_released`` the Kiln credits whose hold
    was released (``None``: none were held).
    """
    found = stage if isinstance(stage, Stage) else stage_of(stage)
    name = _label(provider)
    if found is None:
        provider_part = ""
    elif stop is StopResult.UNREACHABLE:
        provider_part = _UNREACHABLE.format(name=name)
    else:
        provider_part = _rule(provider, found).after.format(name=name)
    kiln_part = (
        f"Your {kiln_released} Kiln credits on hold were released, not charged."
        if kiln_released
        else ""
    )
    return " ".join(part for part in ("Cancelled.", provider_part, kiln_part) if part)

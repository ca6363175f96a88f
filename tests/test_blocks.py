"""Block Kit builders stay within Slack's limits for the largest realistic input."""

from __future__ import annotations

from decimal import Decimal

from bot.demo.blockkit import message_problems, view_problems
from bot.services.portfolio import BenefitLine, ChannelLine, ProjectRecord
from handlers import SUBCOMMANDS
from handlers.blocks.help import HelpAudience, help_blocks, unknown_subcommand_blocks
from handlers.blocks.projects import new_project_modal, project_created_modal, project_record_blocks
from handlers.commands import Subcommand, Usage


def _huge_record() -> ProjectRecord:
    return ProjectRecord(
        key="K" * 32,
        name="N" * 200,
        status="active",
        description="D" * 5000,
        sponsor_user_id="U0SPONSOR",
        lead_user_id=None,
        deputy_user_id="U0DEPUTY",
        objective="O" * 200,
        programme="P" * 200,
        cadence="Mon 09:30 America/Argentina/ComodRivadavia",
        services=[(f"SVC-{n}", "S" * 200, "depends_on") for n in range(300)],
        channels=[ChannelLine(f"C{n:08d}", n == 0, "is_archived" if n % 2 else None) for n in range(300)],
        benefits=[
            BenefitLine(
                name="B" * 200,
                unit="u" * 40,
                baseline=Decimal("0"),
                target=Decimal("99999999999999.9999"),
                target_date="2027-06-30",
                latest=Decimal("-99999999999999.9999"),
                expected=Decimal("33333333333333.33333333"),
                off_trajectory=True,
                benefit_id=1,
            )
            for _ in range(300)
        ],
    )


def test_the_largest_project_record_is_valid_and_says_what_was_left_out():
    blocks = project_record_blocks(_huge_record(), shareable=True)

    assert message_problems(blocks) == []
    assert "more" in str(blocks)


def test_help_and_modals_are_valid():
    assert message_problems(help_blocks(SUBCOMMANDS)) == []
    assert message_problems(unknown_subcommand_blocks("x" * 3000, SUBCOMMANDS)) == []
    assert view_problems(new_project_modal()) == []
    assert view_problems(project_created_modal("K" * 32, "N" * 200)) == []


def test_help_longer_than_a_section_is_split_not_cut():
    many = [
        Subcommand(
            name=f"cmd{index}",
            handler=lambda *args: None,
            usages=(Usage(f"/pmo cmd{index} KEY", "x" * 200, audience=HelpAudience.SPONSORS),),
        )
        for index in range(40)
    ]

    blocks = help_blocks(many)

    assert message_problems(blocks) == []
    text = "\n".join(block["text"]["text"] for block in blocks if block["type"] == "section")
    assert all(f"`/pmo cmd{index} KEY`" in text for index in range(40))

"""qa: an offline, multilingual FAQ bot with calibrated confidence.

    from qa import Bot
    bot = Bot.open("faq.db")
    ans = bot.ask("how do I reset my password?")

Importing qa loads no model; encoders load on first use.
"""

from typing import TYPE_CHECKING, Any

from qa import errors

__version__ = "0.1.0"
__all__ = ["Answer", "Bot", "Entry", "KnowledgeBase", "Suggestion", "errors"]

if TYPE_CHECKING:
    from qa.answer import Answer, Suggestion
    from qa.bot import Bot
    from qa.kb import Entry, KnowledgeBase


def __getattr__(name: str) -> Any:
    if name == "Bot":
        from qa.bot import Bot

        return Bot
    if name in ("Answer", "Suggestion"):
        from qa import answer

        return getattr(answer, name)
    if name in ("Entry", "KnowledgeBase"):
        from qa import kb

        return getattr(kb, name)
    raise AttributeError(name)

"""Curation: edit the KB by hand and find what needs a curator's eye.

- edit.py: small edits (add an entry or alternate, merge two entries)
- duplicates.py: near-duplicate entries (qa dupes); likeness.py: the signals it combines
- conflicts.py: near-duplicates with differing answers, and what an import brought in
- check.py: the `qa check` report; selftest.py: every stored text against its own entry
- unanswered.py: clusters of logged questions for `qa review`
"""

from qa.curate.edit import add_alternate, add_entry, merge, merge_preview, remove_alternate

__all__ = ["add_alternate", "add_entry", "merge", "merge_preview", "remove_alternate"]

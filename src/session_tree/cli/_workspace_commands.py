"""``session-tree diff`` and ``session-tree apply``: a workspace session's files."""

from __future__ import annotations

from ..service import ApplyResult, DiffAgainst, Library, WorkspaceDiff


async def diff(library: Library, name: str, *, at: int | None, against: DiffAgainst) -> str:
    """The files a turn (``at``) or the branch changed, then the patch."""
    return _diff_text(await library.diff(name, at=at, against=against))


async def apply(
    library: Library, name: str, *, branch: str | None, switch: bool, patch_file: str | None
) -> str:
    done = await library.apply(name, branch=branch, switch=switch, patch_file=patch_file)
    return _apply_text(done)


def _diff_text(change: WorkspaceDiff) -> str:
    start = (change.from_commit or "nothing")[:12]
    lines = [f"{change.session}: {start}..{change.to_commit[:12]}, {len(change.files)} file(s)"]
    lines += [f"  {f.status:<9} {f.path}" for f in change.files]
    if change.patch:
        lines += ["", change.patch]
    if change.truncated:
        lines.append("(patch cut; run git diff on the commits above for all of it)")
    return "\n".join(lines)


def _apply_text(done: ApplyResult) -> str:
    files = f"{len(done.files)} file(s) changed since the session began"
    if done.patch_file is not None:
        return f"wrote {done.patch_file} ({files}); take it with: git apply {done.patch_file}"
    where = "and switched to it" if done.switched else "(your checkout is as it was)"
    return f"made branch {done.branch} at {done.commit[:12]} {where}; {files}"

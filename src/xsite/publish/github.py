"""``xsite deploy``: the built site onto the ``gh-pages`` branch, pushed, as
``mkdocs gh-deploy`` does.

ghp-import writes the folder as one commit on the branch with ``git fast-import``: the
working tree, the index and the current branch are never touched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ghp_import import GhpError, ghp_import

from xsite.errors import XsiteError


class DeployError(XsiteError):
    """The site could not be committed or pushed; the message says what to do."""


def deploy(
    site: Path,
    *,
    remote: str = "origin",
    branch: str = "gh-pages",
    message: str | None = None,
) -> str:
    """Commit ``site`` as the whole content of ``branch`` (with ``.nojekyll``) in the git
    repository of the current folder and push it to ``remote``. Returns the new commit."""
    if not (site / "index.html").is_file():
        raise DeployError(f"{site} holds no built site: run xsite build first")
    _git("rev-parse", "--show-toplevel", failure="not inside a git repository: run xsite "
         "deploy from your project's checkout")  # fmt: skip
    _git(
        "remote",
        "get-url",
        remote,
        failure=f"no git remote named {remote!r}: add one with `git remote add {remote} URL`, "
        "or name another with --remote",
    )
    source = _git("rev-parse", "--short", "HEAD", failure=None) or "no commit yet"
    try:
        ghp_import(
            str(site),
            mesg=message or f"Deploy the xsite site built from {source}",
            remote=remote,
            branch=branch,
            push=True,
            force=True,
            nojekyll=True,
        )
    except GhpError as error:
        raise DeployError(f"could not commit the site to {branch!r}: {error}") from error
    except subprocess.CalledProcessError as error:
        raise DeployError(
            f"git push to {remote!r} failed (git's message is above): check the remote's URL "
            "and that you may push to it"
        ) from error
    return _git("rev-parse", branch, failure=None) or ""


def _git(*args: str, failure: str | None) -> str | None:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    if result.returncode != 0:
        if failure is None:
            return None
        raise DeployError(failure)
    return result.stdout.strip()

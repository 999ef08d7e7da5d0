"""Reading note files: front matter, defaults, and errors that name the file and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.notes.conftest import write
from xsite.notes.read import NoteProblem, read_note, read_notes


def test_front_matter_sets_title_date_tags_runs_and_status(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "aug.md",
        "---\ntitle: Does augmentation help?\ndate: 2026-11-20\ntags: [aug, decision]\n"
        "runs: [cnn-baseline, \"tags contains 'aug'\"]\nmetrics: val/acc\nstatus: decided\n"
        "author: someone   # other keys are the author's own\n---\nBody [[x]].\n",
    )
    note = read_note(path, "aug.md")
    assert note.title == "Does augmentation help?" and note.date == date(2026, 11, 20)
    assert note.tags == ("aug", "decision") and note.status == "decided"
    assert note.runs == ("cnn-baseline", "tags contains 'aug'") and note.metrics == ("val/acc",)
    assert note.body == "Body [[x]].\n" and note.body_line == 10


def test_without_front_matter_the_file_name_and_heading_give_date_and_title(
    tmp_path: Path,
) -> None:
    dated = read_note(
        write(tmp_path, "2026-11-02-lr-sweep.md", "Just text.\n"), "2026-11-02-lr-sweep.md"
    )
    assert (dated.title, dated.date, dated.status) == ("Lr sweep", date(2026, 11, 2), "open")
    headed = read_note(write(tmp_path, "idea.md", "Intro\n\n# The real title\n"), "idea.md")
    assert (headed.title, headed.date, headed.body_line) == ("The real title", None, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\ntitle: [unclosed\n---\n", "bad.md:2: front matter is not valid YAML"),
        ("---\ntitle: ok\nstatus: finished\n---\n", "bad.md:3: status: must be one of draft"),
        ("---\n\n\ndate: someday\n---\n", "bad.md:4: date: must be a date like 2026-11-20"),
        ("---\ntags: {a: 1}\n---\n", "bad.md:2: tags: must be a text or a list of texts"),
        ("---\n- a list\n---\n", "bad.md:2: front matter must be key: value lines"),
        ("---\ntitle: never closed\n", "bad.md:1: front matter opened with --- is never closed"),
    ],
)
def test_front_matter_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.md", text)
    with pytest.raises(NoteProblem) as error:
        read_note(path, "bad.md")
    assert message in str(error.value) and str(tmp_path) in str(error.value)


def test_one_bad_note_leaves_the_others_readable(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "# A\n")
    write(tmp_path, "b.md", "---\nstatus: nope\n---\n")
    (tmp_path / "c.md").write_bytes(b"\xff\xfe not utf-8")
    write(tmp_path, "sub/d.md", "# D\n")
    write(tmp_path, ".drafts/hidden.md", "# hidden\n")
    (tmp_path / "outside.md").symlink_to(write(tmp_path.parent, "secret.md", "# secret\n"))
    notes, problems = read_notes(tmp_path)
    assert [note.name for note in notes] == ["a.md", "sub/d.md"]
    assert len(problems) == 3
    assert "b.md:2: status" in problems[0]
    assert "c.md: not UTF-8 text" in problems[1]
    assert "outside.md: links outside the notes folder" in problems[2]

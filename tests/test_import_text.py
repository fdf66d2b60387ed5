"""Plain-text import: code pasted between paragraphs becomes fenced blocks, prose stays prose."""

from __future__ import annotations

import html
import re
from pathlib import Path

from kb.build import build
from kb.config import Config
from kb.importers import detect, import_source
from kb.importers.codeblocks import code_spans
from kb.importers.text import text_to_markdown

FIX = Path(__file__).parent / "fixtures" / "import"
POST = FIX / "code_post.txt"  # an excerpt of seed 001: a blog post with Python snippets


def fences(md: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block in a note."""
    return re.findall(r"^```(\w*)\n(.*?)\n```$", md, re.S | re.M)


def built_page(tmp_path: Path, src: Path) -> tuple[str, str]:
    vault, site = tmp_path / "vault", tmp_path / "site"
    (name,) = import_source(str(src), vault).created
    build(vault, site, Config(base_url="https://example.org/"), embed=False)
    return (vault / name).read_text(encoding="utf-8"), (site / name[:-3] / "index.html").read_text(encoding="utf-8")


def test_comment_lines_in_code_do_not_make_the_file_markdown():
    assert detect(str(POST)) == "text"  # its `# Step 2: ...` lines are not three headings


def test_code_runs_become_python_fences_with_indentation():
    blocks = fences(text_to_markdown(POST.read_text(encoding="utf-8")))
    assert len(blocks) == 6 and {lang for lang, _ in blocks} == {"python"}
    assert blocks[0][1].splitlines() == [
        "import numpy as np", "import statsmodels.api as sm", "from scipy.stats import poisson", "import matplotlib.pyplot as plt"
    ]
    assert blocks[1][1].startswith("# Plot the data\nplt.xlabel(") and blocks[1][1].endswith("plt.legend()\nplt.show()")
    loop = blocks[3][1]
    assert loop.startswith("# Step 2: Initialize parameters\n")
    assert "for iteration in range(max_iter):\n    # Step 3: E-step\n" in loop
    assert "    expected_y = np.where(\n        is_censored,\n" in loop and "\n    )\n" in loop
    assert "\n\n    # Check convergence\n    if np.linalg.norm(new_beta_est - beta_est) < tol:\n        break\n" in loop
    # output lines printed under the code stay with it, unescaped
    assert loop.endswith("print(f'Estimated coefficients: {beta_est}')\n\n## Estimated coefficients: [ 2.11015996 -0.23573144]")
    assert blocks[2][1].endswith("\n## Estimated Censored coefficients: [ 1.86976922 -0.21124541]")
    assert blocks[4][1] == "uncensored_predictions = results.predict(X)\ncensored_predictions = results_censored.predict(X)"
    assert all("\\" not in code for _, code in blocks)  # nothing escaped inside a fence


def test_prose_around_the_code_stays_paragraphs():
    md = text_to_markdown(POST.read_text(encoding="utf-8"))
    outside = re.sub(r"^```\w*\n.*?\n```$", "", md, flags=re.S | re.M)
    paras = [p.strip() for p in outside.split("\n\n") if p.strip()]
    for line in ("Image", "Reflections on quitting my ML job", "Promising!", "We will simulate an example of the latest case, for an airline with simple toy data.",
                 "Let's visualize the results to have a clear intuition."):
        assert line in paras
    for line in ("Esimation", "Poisson Regression", "Expectation Maximization"):
        assert "## " + line in paras  # a short line that opens a section (not the excerpt's last line),
        # and "Esimation", right above its first subsection's title
    assert "OK, here is our alternative. What we can do, a bit more sophisticated" in outside
    assert not any(p.startswith(("import", "plt.", "\\#")) for p in paras)
    # the only headings are the section titles: no code comment ("# Step 2: ...") became one
    assert [p for p in paras if p.startswith("#")] == ["## Expectation Maximization for Poisson process", "## Esimation",
                                                         "## Poisson Regression", "## Expectation Maximization"]


def test_comment_in_code_is_not_a_heading_in_the_page(tmp_path):
    note, page = built_page(tmp_path, POST)
    assert "```python\n# Step 2: Initialize parameters\n" in note
    pres = [html.unescape(re.sub(r"<[^>]+>", "", p)) for p in re.findall(r"<pre.*?</pre>", page, re.S)]
    assert len(pres) == 6 and page.count('<code class="language-python">') == 6
    assert any("# Step 2: Initialize parameters\nbeta_est" in p for p in pres)
    assert any("    # Step 3: E-step\n" in p for p in pres)
    headings = " ".join(re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", page, re.S))
    assert "Step" not in headings and "Plot the data" not in headings and "Estimated" not in headings
    assert "<p>Image</p>" in page and '<h2 id="expectation-maximization">Expectation Maximization</h2>' in page


PROSE = """Notes from a trip

Note: this costs (roughly) five dollars (see below).
Some examples:
  it is fine
Deep Learning (Bishop)
Result (final): good
for example:
   the one above
if you ask me:
    it rained
return to sender
F = ma
x = 5
Total = 42
f(x) = g(y)
print(this page)
git clone is the command you want
import tariffs increased
Image

# not a heading in plain text
#hiking
"""


def test_prose_with_colons_and_parentheses_stays_prose():
    lines = PROSE.split("\n")
    assert code_spans(lines) == []
    md = text_to_markdown(PROSE)
    assert "```" not in md
    assert "Note: this costs (roughly) five dollars (see below)." in md and "\\# not a heading in plain text" in md


def test_a_lone_clear_line_is_code_a_lone_borderline_line_is_not():
    md = text_to_markdown("Install it first:\n\npip install -r requirements.txt\n\nThen set n_samples = 20 and go.\n\nn_samples = 20\n")
    assert "```bash\npip install -r requirements.txt\n```" in md
    assert "n\\_samples = 20\n" in md and md.count("```") == 2  # one bare assignment stays a paragraph


def test_fence_outgrows_backticks_inside_the_code():
    md = text_to_markdown("Code:\n\nimport os\nx = os.getenv('A') or '```'\n")
    assert "````python\nimport os\nx = os.getenv('A') or '```'\n````" in md


def test_short_lines_that_open_a_section_become_headings_and_bullets_lists():
    md = text_to_markdown(
        "Why it matters\n\nA long paragraph that explains the point in some detail, well past sixty characters.\n\n"
        "Things to try\n\n• Magnesium\n• Nose strips\n1. first step\n2. second step\n\n"
        "It's like going to school.\n\nAnother paragraph long enough to follow a heading if there were one here.\n\n"
        "Deep Learning, Bishop\nWikipedia\nimage\n\nThe end of it all, one more long line of prose to close the text.\n"
    )
    assert "## Why it matters\n\nA long paragraph" in md
    assert "## Things to try\n\n- Magnesium\n- Nose strips\n1. first step\n2. second step\n\n" in md
    # a sentence, a run of short lines (references) and a scraper's image placeholder stay paragraphs
    assert "\n\nIt's like going to school.\n\n" in md and "\n\nDeep Learning, Bishop\n\nWikipedia\n\nimage\n\n" in md
    assert md.count("## ") == 2


def test_mojibake_is_repaired_and_reported_correct_text_is_left_alone(tmp_path):
    from kb.importers.text import text_item

    good = "Caf\u00e9 \u201ccurly\u201d \u2014 2 \u00d7 3 \u2265 5 \u00b5s\n"
    src = tmp_path / "notes.md"
    item, warnings = text_item(src, "# Notes\n\nLIT \u00f0\u0178\u201d\u00a5 Locked Image Tuning\n\n" + good, "markdown", None)
    assert "LIT \U0001f525 Locked Image Tuning" in item.body_markdown and good in item.body_markdown
    assert warnings == [f"{src}: repaired 1 mis-decoded line (mojibake)"]
    item, warnings = text_item(src, "# Notes\n\n" + good, "markdown", None)
    assert good in item.body_markdown and warnings == []


def test_dates_bylines_greetings_and_plain_sentences_do_not_become_headings():
    long = "A paragraph long enough to follow a heading, well past the sixty characters it takes."
    for line in ("March 3, 2021", "3 May 2021", "12", "Photo by Bob on Unsplash", "Posted by admin", "Source: Wikipedia",
                 "Dear John", "Yes", "I went to the store today and it was closed", "Right now, I feel more at this point"):
        md = text_to_markdown(f"{line}\n\n{long}\n\nSection one\n\n{long}\n\nSection two\n\n{long}\n")
        assert md.count("## ") == 2 and f"\n## {line}" not in md and not md.startswith("## "), line
    # a single candidate in a whole text is likelier a byline than a section: no headings at all
    assert "## " not in text_to_markdown(f"Intro line\n\n{long}\n")


def test_month_words_are_dates_but_words_that_start_like_months_are_not():
    from kb.importers.text import _could_head

    assert not any(_could_head(t) for t in ("March 3, 2021", "3 May 2021", "Dec. 5 2020", "Sept 12", "Dear John"))
    assert all(_could_head(t) for t in ("Marketing 2024", "Decisions 2024", "Octane 98", "Hello World", "May 2021 update"))


def test_a_title_right_above_its_first_subsection_is_a_heading_a_longer_run_is_not():
    long = "A paragraph long enough to follow a heading, well past the sixty characters it takes."
    intro = f"Opening words\n\n{long}\n\n"
    md = text_to_markdown(f"{intro}Image\n\nEstimation\nPoisson Regression\n{long}\n\nOther Method\n{long}\n")
    assert f"\n\n## Estimation\n\n## Poisson Regression\n\n{long}\n\n## Other Method\n\n" in md
    assert "\n\nImage\n\n## Estimation" in md  # a picture's placeholder before the pair is no short line
    # three or more short lines before prose (an address, credits, references, a poem): at most the last is a heading
    for run in ("Jane Doe\n12 Main Street\nSpringfield", "Thanks to:\nAlice Smith\nBob Jones",
                "References\nDeep Learning, Bishop\nWikipedia\nMutual Information", "Roses are red\nViolets are blue\nSugar is sweet"):
        md = text_to_markdown(f"{intro}{run}\n{long}\n")
        lines = run.split("\n")
        assert not [ln for ln in lines[:-1] if f"## {ln}\n" in md], run
    # two short lines opening the text are likelier a subtitle and a byline; a pair is one section, not two
    md = text_to_markdown(f"A Tale of Two Cities\nCharles Dickens\n{long}\n\nSection one\n\n{long}\n\nSection two\n\n{long}\n")
    assert md.startswith("A Tale of Two Cities\n\n")  # the pair rule does not take the first line
    assert "#" not in text_to_markdown(f"{long}\n\nJane Doe\nStaff Writer\n{long}\n")

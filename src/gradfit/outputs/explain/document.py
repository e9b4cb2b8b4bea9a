"""A small document model (sections of paragraphs, formulas and tables) and its renderers.

The explanation is built once as a ``Document`` and written as plain text, rich text for a
terminal, Markdown or HTML. Every string is escaped by the renderer that writes it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass
class Para:
    text: str


@dataclass
class Math:
    """Formula lines, shown in a fixed-width font and never re-wrapped."""

    lines: list[str]
    tex: list[str] | None = None   # the same lines in LaTeX: typeset (MathML) in HTML, $$…$$ in Markdown


@dataclass
class Code:
    """A program, shown verbatim."""

    language: str
    text: str


@dataclass
class Question:
    """A question whose answer is kept back: at the end in text, behind a click in HTML."""

    text: str
    answer: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)

    def para(self, text: str) -> "Section":
        self.blocks.append(Para(text))
        return self

    def math(self, *lines: str, tex=None) -> "Section":
        self.blocks.append(Math(list(lines), None if tex is None else list(tex)))
        return self

    def code(self, language: str, text: str) -> "Section":
        self.blocks.append(Code(language, text))
        return self

    def question(self, text: str, answer: str) -> "Section":
        self.blocks.append(Question(text, answer))
        return self

    def table(self, header, rows) -> "Section":
        self.blocks.append(Table(list(header), [list(r) for r in rows]))
        return self


@dataclass
class Document:
    title: str
    sections: list[Section]
    lang: str = "en"
    answers_title: str = "Answers"

    def questions(self) -> list[Question]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Question)]


# --- plain text -----------------------------------------------------------------------------

def to_text(doc: Document) -> str:
    out = [doc.title, "=" * _width(doc.title), ""]
    for s in doc.sections:
        out += [s.title, "-" * _width(s.title)]
        for block in s.blocks:
            if isinstance(block, Para):
                out.append(block.text)
            elif isinstance(block, Math):
                out += ["  " + line for line in block.lines]
            elif isinstance(block, Code):
                out += ["    " + line for line in block.text.rstrip("\n").splitlines()]
            elif isinstance(block, Question):
                out.append(f"Q{_number(doc, block)}. {block.text}")
            else:
                out += _text_table(block)
            out.append("")
    if doc.questions():
        out += [doc.answers_title, "-" * _width(doc.answers_title)]
        out += [f"Q{i}. {q.answer}" for i, q in enumerate(doc.questions(), 1)]
    return "\n".join(out).rstrip() + "\n"


def _number(doc: Document, question: Question) -> int:
    return next(i for i, q in enumerate(doc.questions(), 1) if q is question)


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _text_table(t: Table) -> list[str]:
    widths = [max(_width(row[i]) for row in [t.header, *t.rows]) for i in range(len(t.header))]
    pad = lambda cell, w: " " * (w - _width(cell)) + cell  # noqa: E731  (numbers align right)
    lines = ["  " + "  ".join(pad(c, w) for c, w in zip(t.header, widths))]
    lines.append("  " + "  ".join("-" * w for w in widths))
    lines += ["  " + "  ".join(pad(c, w) for c, w in zip(row, widths)) for row in t.rows]
    return lines


# --- rich (a terminal) ----------------------------------------------------------------------

def to_rich(doc: Document, console) -> None:
    """Print the document on a rich ``Console``: headings in colour, tables boxed."""
    from rich.markup import escape
    from rich.table import Table as RichTable

    console.print(f"[bold underline]{escape(doc.title)}[/]\n")
    for s in doc.sections:
        console.print(f"[bold cyan]{escape(s.title)}[/]")
        for block in s.blocks:
            if isinstance(block, Para):
                console.print(escape(block.text), highlight=False)
            elif isinstance(block, Math):
                for line in block.lines:
                    console.print("  " + escape(line), style="green", soft_wrap=True, highlight=False)
            elif isinstance(block, Code):
                for line in block.text.rstrip("\n").splitlines():
                    console.print("    " + escape(line), style="yellow", soft_wrap=True, highlight=False)
            elif isinstance(block, Question):
                console.print(f"[bold]Q{_number(doc, block)}.[/] {escape(block.text)}", highlight=False)
            else:
                table = RichTable(*block.header, show_edge=False, header_style="bold")
                for column in table.columns:
                    column.justify = "right"
                for row in block.rows:
                    table.add_row(*row)
                console.print(table)
            console.print()
    if doc.questions():
        console.print(f"[bold cyan]{escape(doc.answers_title)}[/]")
        for i, q in enumerate(doc.questions(), 1):
            console.print(f"[bold]Q{i}.[/] {escape(q.answer)}", highlight=False)


# --- Markdown -------------------------------------------------------------------------------

def to_markdown(doc: Document) -> str:
    out = [f"# {_md(doc.title)}", ""]
    for s in doc.sections:
        out += [f"## {_md(s.title)}", ""]
        for block in s.blocks:
            if isinstance(block, Para):
                out.append(_md(block.text))
            elif isinstance(block, Math) and block.tex:
                out += ["$$", "\\begin{aligned}", " \\\\\n".join(f"&{t}" for t in block.tex), "\\end{aligned}", "$$"]
            elif isinstance(block, Math):
                out += ["```text", *(line.replace("```", "ˋˋˋ") for line in block.lines), "```"]
            elif isinstance(block, Code):
                out += [f"```{block.language}", block.text.rstrip("\n").replace("```", "ˋˋˋ"), "```"]
            elif isinstance(block, Question):
                out.append(f"**Q{_number(doc, block)}.** {_md(block.text)}")
            else:
                out.append("| " + " | ".join(_md(c) for c in block.header) + " |")
                out.append("|" + "---:|" * len(block.header))
                out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in block.rows]
            out.append("")
    if doc.questions():
        out += [f"## {_md(doc.answers_title)}", ""]
        out += [f"{i}. {_md(q.answer)}" for i, q in enumerate(doc.questions(), 1)]
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    """Escape what Markdown would read as markup (and HTML, which Markdown passes through)."""
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


# --- HTML -----------------------------------------------------------------------------------

STYLE = """
.gradfit-explain { font-family: system-ui, sans-serif, "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
  "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei"; line-height: 1.5; max-width: 60rem; }
.gradfit-explain pre { background: #f6f8fa; padding: .6rem .8rem; border-radius: 4px; overflow-x: auto; }
.gradfit-explain table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.gradfit-explain th, .gradfit-explain td { padding: .15rem .6rem; text-align: right; border-bottom: 1px solid #ddd; }
.gradfit-explain .math { overflow-x: auto; margin: .4rem 0; }
.gradfit-explain math { font-size: 1.1em; margin: .2rem 0; }
.gradfit-explain details { margin: .2rem 0 .8rem 1rem; }
"""


def mathml_available() -> bool:
    try:
        import latex2mathml.converter  # noqa: F401
    except ImportError:
        return False
    return True


def mathml(tex: str) -> str:
    """LaTeX → MathML (latex2mathml, offline), which browsers typeset natively: no script, nothing fetched."""
    from latex2mathml.converter import convert

    return convert(tex, display="block")


def to_html_fragment(doc: Document) -> str:
    e = html.escape
    out = [f'<div class="gradfit-explain" lang="{e(doc.lang)}">', f"<h1>{e(doc.title)}</h1>"]
    for s in doc.sections:
        out.append(f"<section><h2>{e(s.title)}</h2>")
        for block in s.blocks:
            if isinstance(block, Para):
                out.append(f"<p>{e(block.text)}</p>")
            elif isinstance(block, Math) and block.tex and mathml_available():
                out.append('<div class="math">' + "".join(mathml(t) for t in block.tex) + "</div>")
            elif isinstance(block, Math):
                out.append("<pre>" + "\n".join(e(line) for line in block.lines) + "</pre>")
            elif isinstance(block, Code):
                out.append(f'<pre class="code"><code class="language-{e(block.language)}">{e(block.text)}</code></pre>')
            elif isinstance(block, Question):
                out.append(f'<div class="question"><p>Q{_number(doc, block)}. {e(block.text)}</p><details>'
                           f"<summary>{e(doc.answers_title)}</summary><p>{e(block.answer)}</p></details></div>")
            else:
                out.append("<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in block.header)
                           + "</tr></thead><tbody>")
                out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block.rows]
                out.append("</tbody></table>")
        out.append("</section>")
    out.append("</div>")
    return "\n".join(out)


def to_html_page(doc: Document) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(doc.lang)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(doc.title)}</title><style>{STYLE}</style></head>\n<body>\n"
            f"{to_html_fragment(doc)}\n</body></html>\n")

#!/usr/bin/python3
"""The offline book: every notebook with its outputs and every lesson with its printed output and figures, as one
static HTML site with a table of contents. Nothing on its pages is fetched from the network: the scripts and styles
they need (jQuery, RequireJS, KaTeX for the formulas) are copied in from Debian's packages.

    /usr/bin/python3 scripts/book.py --build build/release --out build/release/book
    (or: cmake --build build/release --target book)

Notebooks are executed here (nbclient) unless --executed DIR holds executed copies already (what the notebook test
writes to <build>/notebooks); lessons run through `attn lesson run all` unless --lessons-run DIR holds a finished
run (what the lesson test leaves in <build>/lessons-run). Open <out>/index.html.
"""
import argparse
import html
import os
import pathlib
import re
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
ASSETS = {  # Debian's copies -> the book's assets/
    "jquery.min.js": "/usr/share/javascript/jquery/jquery.min.js",
    "require.min.js": "/usr/share/javascript/requirejs/require.min.js",
    "katex/katex.min.js": "/usr/share/javascript/katex/katex.min.js",
    "katex/katex.min.css": "/usr/share/javascript/katex/katex.min.css",
    "katex/contrib/auto-render.js": "/usr/share/javascript/katex/contrib/auto-render.js",
}
STYLE = """
body { font: 16px/1.55 system-ui, sans-serif; max-width: 1100px; margin: 0 auto; padding: 1.5em; color: #1d2330; }
nav.top { font-size: 14px; margin-bottom: 1em; } nav.top a { margin-right: 1em; }
pre { background: #f5f7fa; border: 1px solid #e1e5eb; padding: .8em; overflow-x: auto; font-size: 13.5px; }
img.figure { max-width: 100%; border: 1px solid #e1e5eb; margin: .5em 0; display: block; }
h1 { font-size: 1.7em; } h2 { font-size: 1.3em; margin-top: 1.6em; } .muted { color: #667; }
table.toc td { padding: .2em .8em .2em 0; vertical-align: top; }
"""


def katex_head(prefix):
    return (f'<link rel="stylesheet" href="{prefix}assets/katex/katex.min.css">\n'
            f'<script src="{prefix}assets/katex/katex.min.js"></script>\n'
            f'<script src="{prefix}assets/katex/contrib/auto-render.js"></script>\n'
            '<script>document.addEventListener("DOMContentLoaded", function () { renderMathInElement(document.body, '
            '{delimiters: [{left: "$$", right: "$$", display: true}, {left: "$", right: "$", display: false}], '
            'throwOnError: false}); });</script>\n')


def page(title, body, prefix="../", math=False):
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>\n'
            f'<style>{STYLE}</style>\n{katex_head(prefix) if math else ""}</head><body>\n'
            f'<nav class="top"><a href="{prefix}index.html">Contents</a></nav>\n{body}\n</body></html>\n')


def copy_assets(out):
    for name, source in ASSETS.items():
        target = out / "assets" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.exists(source):
            sys.exit(f"book: {source} is missing (scripts/setup.sh installs it)")
        shutil.copyfile(source, target)
    fonts = pathlib.Path("/usr/share/javascript/katex/fonts")
    if fonts.is_dir():
        shutil.copytree(fonts, out / "assets/katex/fonts", dirs_exist_ok=True)


def notebook_pages(out, build, executed):
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="classic")
    exporter.jquery_url = "../../assets/jquery.min.js"
    exporter.require_js_url = "../../assets/require.min.js"
    exporter.mathjax_url = "MATHJAX"
    entries = []
    for path in sorted((REPO / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        rel = path.relative_to(REPO / "notebooks")
        done = pathlib.Path(executed) / rel if executed else None
        if done is not None and done.exists():
            nb = nbformat.read(str(done), as_version=4)
        else:
            nb = nbformat.read(str(path), as_version=4)
            env_path = str(build / "python")
            os.environ["PYTHONPATH"] = env_path + os.pathsep + os.environ.get("PYTHONPATH", "")
            NotebookClient(nb, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        body, _ = exporter.from_notebook_node(nb)
        # MathJax (a file:// path in Debian's nbconvert) out, KaTeX from the book's assets in.
        body = re.sub(r'<script[^>]*MATHJAX[^>]*>\s*</script>', "", body)
        body = re.sub(r'<script type="text/x-mathjax-config">.*?</script>', "", body, flags=re.S)
        # KaTeX before RequireJS: its scripts are UMD modules that would register with RequireJS's define() instead of
        # setting their globals.
        body = body.replace("<head>", "<head>\n" + katex_head("../../"), 1)
        body = body.replace("<body>", '<body>\n<nav style="font:14px system-ui;padding:.5em 1em">'
                            '<a href="../../index.html">Contents</a></nav>', 1)
        target = out / "notebooks" / rel.with_suffix(".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
        title = next((c.source.strip().splitlines()[0].lstrip("# ") for c in nb.cells if c.cell_type == "markdown"),
                     str(rel))
        entries.append((str(rel.with_suffix("")), title, target.relative_to(out)))
        print(f"book: notebook {rel}")
    return entries


def lesson_pages(out, attn, lessons_run=None):
    """Runs every lesson (or, with `lessons_run`, takes a finished run: its figures and its output in run.log, as
    the lesson test leaves them) and writes one page per lesson."""
    figures = out / "lessons" / "figures"
    if lessons_run:
        source = pathlib.Path(lessons_run).resolve()
        if not (source / "run.log").exists():
            sys.exit(f"book: {source}/run.log is missing (the lesson test writes it after a successful run)")
        printed = (source / "run.log").read_text(encoding="utf-8")
        shutil.copytree(source, figures, ignore=shutil.ignore_patterns("run.log"))
        printed = printed.replace(str(source), str(figures))  # the [figure] paths, now inside the book
    else:
        run = subprocess.run([attn, "lesson", "run", "all", "--out", str(figures)], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"book: `attn lesson run all` failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        printed = run.stdout
    entries = []
    for block in re.findall(r"==> lesson (\S+) .*?\n(.*?)<== lesson \1 ", printed, flags=re.S):
        lesson_id, text = block
        parts, pre, prose = [], [], []

        def flush():
            # The lesson's prose (flush-left lines) as paragraphs, what it computed (indented lines) as output.
            if prose:
                parts.append("<p>" + html.escape(" ".join(prose)) + "</p>")
                prose.clear()
            while pre and not pre[-1].strip():
                pre.pop()
            if pre:
                parts.append("<pre>" + html.escape("\n".join(pre)) + "</pre>")
                pre.clear()

        title = lesson_id
        for line in text.splitlines():
            if line.startswith("# "):
                flush()
                title = line[2:]
                parts.append(f"<h1>{html.escape(title)}</h1>")
            elif line.startswith("## "):
                flush()
                parts.append(f"<h2>{html.escape(line[3:])}</h2>")
            elif line.startswith("[figure] "):
                flush()
                fig = pathlib.Path(line[len("[figure] "):].strip())
                rel = os.path.relpath(fig, out / "lessons")
                if fig.suffix in (".png", ".svg"):
                    parts.append(f'<img class="figure" src="{html.escape(rel)}" alt="{html.escape(fig.name)}">')
                else:
                    parts.append(f'<p><a href="{html.escape(rel)}">{html.escape(fig.name)}</a> (opens offline)</p>')
            elif not line.strip():
                if prose:
                    flush()
                elif pre:
                    pre.append(line)
            elif line.startswith(" "):
                if prose:
                    flush()
                pre.append(line)
            else:
                if pre:
                    flush()
                prose.append(line)
        flush()
        source = REPO / "lessons" / lesson_id / "lesson.cpp"
        if source.exists():
            parts.append("<details><summary>The program: <code>lessons/" + html.escape(lesson_id) + "/lesson.cpp</code>"
                         "</summary><pre>" + html.escape(source.read_text(encoding="utf-8")) + "</pre></details>")
        name = lesson_id.replace("/", "__") + ".html"
        (out / "lessons" / name).write_text(page(title, "\n".join(parts)), encoding="utf-8")
        entries.append((lesson_id, title, pathlib.Path("lessons") / name))
        print(f"book: lesson {lesson_id}")
    if not entries:
        sys.exit("book: no lesson output was recognized")
    return entries


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(REPO / "build/release"), help="the build folder (bin/attn, python/)")
    ap.add_argument("--out", required=True, help="where the book goes (emptied first)")
    ap.add_argument("--executed", help="executed notebooks (e.g. <build>/notebooks from the notebook test)")
    ap.add_argument("--lessons-run", help="a finished `attn lesson run all` (figures + run.log, as the lesson test "
                    "leaves it in <build>/lessons-run) instead of running the lessons again")
    args = ap.parse_args()
    build, out = pathlib.Path(args.build).resolve(), pathlib.Path(args.out).resolve()
    attn = build / "bin" / "attn"
    if not attn.exists():
        sys.exit(f"book: {attn} is missing: build first (bash scripts/build.sh)")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    copy_assets(out)
    lessons = lesson_pages(out, str(attn), args.lessons_run)
    notebooks = notebook_pages(out, build, args.executed)
    rows = ['<h1>explore-attention: the book</h1>',
            '<p class="muted">Every lesson program with what it printed and drew, and every notebook with its outputs, '
            'made on this machine by <code>scripts/book.py</code>. It opens offline.</p>',
            "<h2>Lessons (C++ programs)</h2>", '<table class="toc">']
    rows += [f'<tr><td><a href="{html.escape(str(p))}">{html.escape(i)}</a></td><td>{html.escape(t)}</td></tr>'
             for i, t, p in lessons]
    rows += ["</table>", "<h2>Notebooks (Python)</h2>", '<table class="toc">']
    rows += [f'<tr><td><a href="{html.escape(str(p))}">{html.escape(i)}</a></td><td>{html.escape(t)}</td></tr>'
             for i, t, p in notebooks]
    rows += ["</table>"]
    (out / "index.html").write_text(page("explore-attention: the book", "\n".join(rows), prefix=""), encoding="utf-8")
    print(f"book: {len(lessons)} lessons and {len(notebooks)} notebooks in {out}/index.html")


if __name__ == "__main__":
    main()

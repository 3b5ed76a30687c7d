#!/usr/bin/env python3
"""Turns the man pages' Markdown sources (man/*.md) into roff (man(7)).

One source per page: the same file reads as Markdown in the repository and
becomes the installed man page. The dialect is small, and this script
refuses anything else rather than guess:

  % NAME(SECTION) | title        first line
  # HEADING                      a section (.SH)
  ## Heading                     a subsection (.SS)
  term                           a line starting with "`" or "**" and the
  : definition                   indented ": " lines after it: a .TP entry
  ```                            a literal block (.nf ... .fi)
  | a | b |                      a table, shown as literal text
  paragraphs                     text; `code` and **bold** become bold,
                                 *word* italic

Usage: md2man.py SOURCE.md OUTPUT [VERSION]
"""

import re
import sys


def inline(text):
    text = text.replace("\\", "\\e")
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)
    text = re.sub(r"(?<![\w*])\*([^*]+)\*(?![\w*])", r"\\fI\1\\fR", text)
    text = text.replace("-", "\\-")
    return text


def line_start(text):
    # A roff line must not start with "." or "'".
    return "\\&" + text if text[:1] in (".", "'") else text


def convert(lines, version):
    out = []
    m = re.match(r"% (\S+)\((\d)\) \| (.*)", lines[0])
    if not m:
        raise SystemExit("first line must be: % NAME(SECTION) | title")
    name, section, title = m.groups()
    out.append(f'.TH "{name.upper()}" "{section}" "" "lmz {version}" "{title}"')
    i = 1
    paragraph = []

    def flush():
        if paragraph:
            out.append(line_start(inline(" ".join(paragraph))))
            paragraph.clear()

    while i < len(lines):
        line = lines[i].rstrip("\n")
        if line.startswith("```"):
            flush()
            out.append(".PP\n.nf\n.RS 4")
            i += 1
            while not lines[i].startswith("```"):
                out.append(line_start(lines[i].rstrip("\n").replace("\\", "\\e").replace("-", "\\-")))
                i += 1
            out.append(".RE\n.fi")
        elif line.startswith("|"):
            flush()
            out.append(".PP\n.nf\n.RS 4")
            while i < len(lines) and lines[i].startswith("|"):
                row = lines[i].strip()
                if not re.match(r"^\|[-:| ]+\|$", row):
                    cells = [c.strip() for c in row.strip("|").split("|")]
                    out.append(line_start(inline("  ".join(f"{c:<14}" for c in cells).rstrip())))
                i += 1
            out.append(".RE\n.fi")
            continue
        elif line.startswith("## "):
            flush()
            out.append(".SS " + inline(line[3:]))
        elif line.startswith("# "):
            flush()
            out.append(".SH " + inline(line[2:].upper()))
        elif not line.strip():
            flush()
            if out and not out[-1].startswith((".SH", ".SS", ".PP", ".TP")):
                out.append(".PP")
        elif i + 1 < len(lines) and lines[i + 1].startswith(": ") and not paragraph:
            out.append(".TP\n" + line_start(inline(line)))
            i += 1
            while i < len(lines) and (lines[i].startswith(": ") or lines[i].startswith("  ")):
                out.append(line_start(inline(lines[i][2:].rstrip("\n"))))
                i += 1
            continue
        else:
            paragraph.append(line.strip())
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main():
    source, output = sys.argv[1], sys.argv[2]
    version = sys.argv[3] if len(sys.argv) > 3 else ""
    with open(source, encoding="utf-8") as f:
        lines = f.readlines()
    with open(output, "w", encoding="utf-8") as f:
        f.write(convert(lines, version))


if __name__ == "__main__":
    main()

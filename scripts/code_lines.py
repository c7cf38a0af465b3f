#!/usr/bin/env python3
"""Code lines of each folder given: non-blank, non-comment (`//`, `///`, `/* */`) lines of its .rs
files, outside `#[cfg(test)] mod ... { }` blocks. The measure issue 15 set for the adapters
against the core: `python3 scripts/code_lines.py ws-proto/src ws-proto-std/src ws-proto-tokio/src`."""
import os
import sys


def count(path):
    n, depth, skip_depth, cfg_test, in_comment = 0, 0, None, False, False
    for line in open(path, encoding="utf-8"):
        s = line.strip()
        if in_comment:
            in_comment = "*/" not in s
            continue
        if s.startswith("/*"):
            in_comment = "*/" not in s
            continue
        if skip_depth is not None:
            depth += s.count("{") - s.count("}")
            if depth <= skip_depth:
                skip_depth = None
            continue
        if s.startswith("#[cfg(test)]"):
            cfg_test = True
            continue
        if cfg_test:
            cfg_test = False
            if s.startswith("mod ") and s.endswith("{"):
                skip_depth, depth = depth, depth + 1
                continue
        depth += s.count("{") - s.count("}")
        if s and not s.startswith("//"):
            n += 1
    return n


for folder in sys.argv[1:]:
    total = sum(
        count(os.path.join(root, f))
        for root, _, files in os.walk(folder)
        for f in files
        if f.endswith(".rs")
    )
    print(f"{folder} {total}")

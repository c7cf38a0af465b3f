#!/usr/bin/env python3
"""Check an Autobahn|TestSuite fuzzingserver report for the given client agents.

usage: report.py INDEX_JSON AGENT [AGENT ...] [--expected-cases N]
                 [--allow-unimplemented-compression] [--readme PATH]
                 [--suite-version V]

INDEX_JSON is the fuzzing server's master report (.autobahn/reports/clients/
index.json), laid out as {agent: {case_id: {"behavior", "behaviorClose",
"duration", "remoteCloseCode", "reportfile"}}}; "reportfile" names the per-case
JSON (in the same folder) that holds "description", "expectation", "result",
"resultClose", ...

A case passes when both its behavior and behaviorClose are OK or INFORMATIONAL.
NON-STRICT, FAILED, WRONG CODE, UNCLEAN, ... fail. UNIMPLEMENTED fails unless
--allow-unimplemented-compression is given and the case is a compression case
(id 12.* or 13.*). An agent missing from the report, or with fewer cases than
--expected-cases (default: the most cases any agent in the report has), fails.

Exit status: 0 all agents pass, 1 some agent fails, 2 usage or I/O error.
"""

import argparse
import datetime
import json
import os
import sys
import tempfile

BEGIN = "<!-- autobahn:begin -->"
END = "<!-- autobahn:end -->"
COLUMNS = ["OK", "NON-STRICT", "FAILED", "UNIMPLEMENTED", "INFORMATIONAL"]
# Worst first: a case is counted in the column of the worse of its two verdicts.
# Any verdict not listed here (FAILED, WRONG CODE, UNCLEAN, FAILED BY CLIENT,
# anything new) counts as FAILED.
_RANK = {"OK": 0, "INFORMATIONAL": 1, "UNIMPLEMENTED": 2, "NON-STRICT": 3}
PASSING = {"OK", "INFORMATIONAL"}
COMPRESSION_PREFIXES = ("12.", "13.")


def case_key(case_id):
    """Sort '1.1.10' after '1.1.9' and '12.1.1' after '9.8.6'."""
    return tuple(int(p) if p.isdigit() else p for p in case_id.split("."))


def column(verdict):
    return verdict if verdict in _RANK else "FAILED"


def category(entry):
    cols = [column(entry.get("behavior")), column(entry.get("behaviorClose"))]
    return max(cols, key=lambda c: _RANK.get(c, 99))


def is_failure(case_id, entry, allow_unimplemented_compression):
    for verdict in (entry.get("behavior"), entry.get("behaviorClose")):
        if verdict in PASSING:
            continue
        if (verdict == "UNIMPLEMENTED" and allow_unimplemented_compression
                and case_id.startswith(COMPRESSION_PREFIXES)):
            continue
        return True
    return False


def one_line(text, limit):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def case_details(report_dir, entry):
    """Description and result texts from the per-case JSON, if readable."""
    name = entry.get("reportfile")
    if not name:
        return {}
    try:
        with open(os.path.join(report_dir, name), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def check_agent(agent, cases, report_dir, expected, all_ids, args, out):
    """Print the agent's failing cases and summary; return (passed, counts)."""
    counts = {c: 0 for c in COLUMNS}
    failures = 0
    allowed_unimpl = 0
    for case_id in sorted(cases, key=case_key):
        entry = cases[case_id]
        counts[category(entry)] += 1
        if is_failure(case_id, entry, args.allow_unimplemented_compression):
            failures += 1
            d = case_details(report_dir, entry)
            parts = [
                "%s: case %s: behavior=%s behaviorClose=%s"
                % (agent, case_id, entry.get("behavior"), entry.get("behaviorClose"))
            ]
            if d.get("description"):
                parts.append("description: " + one_line(d["description"], 160))
            if d.get("result"):
                parts.append("result: " + one_line(d["result"], 160))
            if d.get("resultClose") and entry.get("behaviorClose") not in PASSING:
                parts.append("close: " + one_line(d["resultClose"], 160))
            print(" | ".join(parts), file=out)
        elif "UNIMPLEMENTED" in (entry.get("behavior"), entry.get("behaviorClose")):
            allowed_unimpl += 1

    missing = max(0, expected - len(cases))
    if missing:
        absent = sorted(set(all_ids) - set(cases), key=case_key)
        shown = ", ".join(absent[:10]) + (", ..." if len(absent) > 10 else "")
        print(
            "%s: %d of %d cases missing from the report%s"
            % (agent, missing, expected, (" (" + shown + ")") if absent else ""),
            file=out,
        )
    passed = failures == 0 and missing == 0
    summary = " ".join("%s=%d" % (c, counts[c]) for c in COLUMNS)
    note = ""
    if allowed_unimpl:
        note = " (%d UNIMPLEMENTED compression cases allowed)" % allowed_unimpl
    print(
        "%s: %s: %s total=%d/%d failing=%d%s"
        % (agent, "PASS" if passed else "FAIL", summary, len(cases), expected,
           failures + missing, note),
        file=out,
    )
    return passed, counts, len(cases)


def render_table(rows, suite_version, expected):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    version = ("Autobahn TestSuite %s" % suite_version) if suite_version else "Autobahn TestSuite"
    lines = [
        "%s client results (%d cases), %s, from `scripts/autobahn/run.sh`:"
        % (version, expected, today),
        "",
        "| agent | " + " | ".join(COLUMNS) + " | total |",
        "| --- | " + " | ".join("---:" for _ in COLUMNS) + " | ---: |",
    ]
    for agent, counts, total in rows:
        cells = [str(counts[c]) if counts is not None else "-" for c in COLUMNS]
        lines.append("| %s | %s | %s |" % (agent, " | ".join(cells), total))
    return "\n".join(lines)


def update_readme(path, table, out):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        print("readme: %s does not exist; not updated" % path, file=out)
        return
    b, e = text.find(BEGIN), text.find(END)
    if b < 0 or e < 0 or e < b or text.count(BEGIN) != 1 or text.count(END) != 1:
        print("readme: %s has no single %s ... %s block; left alone" % (path, BEGIN, END),
              file=out)
        return
    new = text[: b + len(BEGIN)] + "\n" + table + "\n" + text[e:]
    if new == text:
        print("readme: %s already up to date" % path, file=out)
        return
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".readme.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new)
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    print("readme: updated the Autobahn table in %s" % path, file=out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("index", help="path to the fuzzing server's index.json")
    p.add_argument("agents", nargs="+", help="agent names to check")
    p.add_argument("--expected-cases", type=int, default=None,
                   help="number of cases a complete run has (wstest /getCaseCount)")
    p.add_argument("--allow-unimplemented-compression", action="store_true",
                   help="accept UNIMPLEMENTED for the permessage-deflate cases 12.* and 13.*")
    p.add_argument("--readme", metavar="PATH",
                   help="rewrite the table between the autobahn markers in PATH")
    p.add_argument("--suite-version", default=None, help="suite version for the README")
    args = p.parse_args(argv)
    out = sys.stdout

    try:
        with open(args.index, encoding="utf-8") as f:
            index = json.load(f)
    except OSError as e:
        print("report: cannot read %s: %s" % (args.index, e), file=out)
        index = {}
    except ValueError as e:
        print("report: %s is not valid JSON: %s" % (args.index, e), file=out)
        return 2
    if not isinstance(index, dict):
        print("report: %s: unexpected layout (not an object)" % args.index, file=out)
        return 2
    report_dir = os.path.dirname(os.path.abspath(args.index))

    all_ids = set()
    for cases in index.values():
        all_ids.update(cases)
    expected = args.expected_cases
    if expected is None:
        expected = max((len(c) for c in index.values()), default=0)

    ok = True
    rows = []
    for agent in args.agents:
        cases = index.get(agent)
        if cases is None:
            print("%s: FAIL: agent not in the report (known agents: %s)"
                  % (agent, ", ".join(sorted(index)) or "none"), file=out)
            ok = False
            rows.append((agent, None, 0))
            continue
        passed, counts, total = check_agent(agent, cases, report_dir, expected,
                                            all_ids, args, out)
        ok = ok and passed
        rows.append((agent, counts, total))

    if args.readme:
        update_readme(args.readme, render_table(rows, args.suite_version, expected), out)

    print("autobahn: %s" % ("PASS" if ok else "FAIL"), file=out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

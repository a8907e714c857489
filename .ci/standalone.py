#!/usr/bin/env python3
"""The repository stands alone: no tracked file outside .ci/ refers to a path outside it.

A user's clone has nothing beside it (no ../shared, no development tree), so a doc link, an
include_str!, a Cargo path or a test fixture that reaches outside the repository breaks for them.
Every `../…` path in a tracked file is resolved from the file's folder and from its crate's root
(for paths joined to CARGO_MANIFEST_DIR; a `#[path]` attribute only from the file's folder);
either escaping the repository is an error. Absolute
paths into this machine's work folders and any mention of a `shared/` folder beside the repository
are errors too. Exit 1 with one line per finding.
"""
import os
import re
import subprocess
import sys

root = subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip()
files = subprocess.check_output(["git", "ls-files", "-z"], cwd=root, text=True).split("\0")
relative = re.compile(r"(?:\.\./)+[A-Za-z0-9_.\-/]*")
forbidden = re.compile(r"(?:\.\./)+shared\b|/work/(?:main|shared)\b|\bshared/(?:spec|vectors)/")
skip_suffixes = (".lock", "package-lock.json")

findings = []
for name in files:
    if not name or name.startswith(".ci/") or name.endswith(skip_suffixes) or "/fuzz/corpus/" in name:
        continue
    path = os.path.join(root, name)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
        continue
    bases = {os.path.dirname(path)}
    if name.endswith(".rs") and "/" in name:
        bases.add(os.path.join(root, name.split("/")[0]))  # env!("CARGO_MANIFEST_DIR") joins
    for number, line in enumerate(lines, 1):
        if forbidden.search(line):
            findings.append(f"{name}:{number}: refers outside the repository: {line.strip()[:160]}")
            continue
        # `#[path = "…"]` resolves from the file's own folder only.
        line_bases = {os.path.dirname(path)} if "#[path" in line else bases
        for match in relative.finditer(line):
            for base in line_bases:
                target = os.path.normpath(os.path.join(base, match.group(0)))
                if os.path.relpath(target, root).startswith(".."):
                    findings.append(f"{name}:{number}: `{match.group(0)}` leaves the repository")
                    break

if findings:
    print("Tracked files refer to paths outside the repository (a user's clone has none):")
    print("\n".join(sorted(set(findings))))
    sys.exit(1)
print(f"standalone: {len([f for f in files if f])} tracked files, none refers outside the repository")

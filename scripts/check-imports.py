#!/usr/bin/env python3
"""Checks that every target's imports match its declared dependencies in Package.swift.

For each target, the modules its Swift files import are compared with the modules its
dependencies provide (a target dependency is its own module; a product dependency is the
product's modules, PRODUCT_MODULES below, else the module of the same name). Two kinds of
mismatch fail the check:

  imported, not declared   the build only works because another target pulled the module in
  declared, not imported   the graph claims a dependency the code does not have

Toolchain modules (Foundation, Glibc, XCTest, ...) are ignored, and so is any import inside a
multi-line string literal (test scripts embedded in Swift). `@testable`, `public`, `package`
and `@_spi(...)` imports count like plain ones; `#if canImport(X)` branches count too.

Usage: scripts/check-imports.py [--package-json FILE]   (default: runs `swift package dump-package`)
Exit status 0 when everything matches, 1 with the list of mismatches otherwise.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Modules that come with the toolchain or the OS, never declared in Package.swift.
SYSTEM_MODULES = {
    "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking",
    "FoundationXML", "CoreFoundation", "Dispatch", "Glibc", "Musl", "Bionic", "Android", "Darwin",
    "WinSDK", "ucrt", "os", "XCTest", "Testing", "Synchronization", "Observation", "RegexBuilder",
    "Distributed", "_Concurrency", "_StringProcessing", "Swift", "SwiftShims",
}

# Products whose modules are not just the module of the product's name (product -> modules).
# Only the module(s) a dependent may import are listed.
PRODUCT_MODULES = {
}

IMPORT_RE = re.compile(
    r"^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*"
    r"(?:(?:public|package|internal|fileprivate|private)\s+)?"
    r"import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?"
    r"([A-Za-z_][A-Za-z0-9_]*)"
)


def load_manifest(path):
    if path:
        with open(path) as f:
            return json.load(f)
    swift = os.environ.get("SWIFT", "swift")
    out = subprocess.run([swift, "package", "dump-package"], cwd=ROOT, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def target_path(target):
    if target.get("path"):
        return os.path.join(ROOT, target["path"])
    base = "Tests" if target["type"] == "test" else "Sources"
    return os.path.join(ROOT, base, target["name"])


def imports_of(directory, excluded):
    """{module: [file, ...]} for the Swift files under directory."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in excluded]
        for name in sorted(filenames):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(dirpath, name)
            in_string = False
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.count('"""') % 2 == 1:
                        in_string = not in_string
                        continue
                    if in_string:
                        continue
                    m = IMPORT_RE.match(line)
                    if m:
                        found.setdefault(m.group(1), []).append(os.path.relpath(path, ROOT))
    return found


def declared_modules(target):
    """{module: how it is declared} for a target's dependencies."""
    modules = {}
    for dep in target.get("dependencies", []):
        if "byName" in dep:
            name = dep["byName"][0]
            modules[name] = name
        elif "target" in dep:
            name = dep["target"][0]
            modules[name] = name
        elif "product" in dep:
            product, package = dep["product"][0], dep["product"][1]
            for module in PRODUCT_MODULES.get(product, [product]):
                modules[module] = f'.product(name: "{product}", package: "{package}")'
    return modules


def main(argv):
    manifest_json = None
    if len(argv) > 2 and argv[1] == "--package-json":
        manifest_json = argv[2]
    manifest = load_manifest(manifest_json)
    problems = []
    for target in manifest["targets"]:
        if target["type"] in ("system", "binary", "plugin", "macro"):
            continue
        directory = target_path(target)
        excluded = {os.path.join(directory, e) for e in target.get("exclude", [])}
        imported = imports_of(directory, excluded)
        declared = declared_modules(target)
        name = target["name"]
        for module in sorted(set(imported) - set(declared) - SYSTEM_MODULES - {name}):
            files = sorted(set(imported[module]))
            shown = ", ".join(files[:3]) + (f" (+{len(files) - 3} more)" if len(files) > 3 else "")
            problems.append(f"{name}: imports {module} but does not declare it ({shown})")
        for module in sorted(set(declared) - set(imported)):
            problems.append(f"{name}: declares {declared[module]} but no file imports {module}")
    if problems:
        print("check-imports: Package.swift does not match the imports:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        print(f"check-imports: {len(problems)} mismatch(es); declare the dependency in Package.swift, "
              "or remove the import or the dependency", file=sys.stderr)
        return 1
    print(f"check-imports: imports match Package.swift ({len(manifest['targets'])} targets)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""`make audit`: bandit over the product code, then pip-audit over the installed dependencies.

Exits 0 only when bandit reports nothing at medium or high severity AND pip-audit checked every
dependency against its advisory service and found no known vulnerability. A dependency pip-audit could
not check (no network, service down, package unknown to it) makes the audit fail: an audit that checked
nothing must never read as "no known vulnerabilities".
"""

from __future__ import annotations

import json
import subprocess  # nosec B404: runs our own tools with fixed arguments
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ["moderation", "classifiers", "workers"]


def run_bandit() -> bool:
    print("== bandit (medium and high severity) over " + ", ".join(PRODUCT), flush=True)
    result = subprocess.run(  # nosec B603: fixed argument list, no shell
        [sys.executable, "-m", "bandit", "-q", "-r", *PRODUCT, "--severity-level", "medium"],
        cwd=ROOT,
        check=False,
    )
    if result.returncode == 0:
        print("bandit: no issues at medium or high severity")
        return True
    print(f"bandit: issues found (exit {result.returncode})")
    return False


def run_pip_audit() -> bool:
    print("== pip-audit over the installed dependencies", flush=True)
    result = subprocess.run(  # nosec B603: fixed argument list, no shell
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--format",
            "json",
            "--progress-spinner",
            "off",
            "--skip-editable",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
        dependencies = list(report["dependencies"])
    except (ValueError, KeyError, TypeError):
        print("pip-audit did not produce a report; it said:")
        print((result.stderr or result.stdout).strip()[-3000:])
        print("DEPENDENCY AUDIT FAILED: nothing was checked")
        return False
    skipped = [d for d in dependencies if d.get("skip_reason")]
    checked = [d for d in dependencies if not d.get("skip_reason")]
    vulnerable = [d for d in checked if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"VULNERABLE {dep['name']} {dep.get('version', '?')}: {vuln.get('id')} (fixed in {fixes})")
    print(f"pip-audit: {len(checked)} of {len(dependencies)} packages checked, {len(vulnerable)} vulnerable")
    if skipped:
        print(f"pip-audit could NOT check {len(skipped)} packages, e.g.:")
        for dep in skipped[:5]:
            print(f"  {dep['name']}: {dep['skip_reason']}")
        if not checked:
            print(
                "The vulnerability advisory service could not be reached (or knows none of the packages): "
                "NO dependency was audited. This is not a clean result; run `make audit` where the "
                "service is reachable."
            )
        print("DEPENDENCY AUDIT INCOMPLETE")
        return False
    return not vulnerable


def main() -> int:
    bandit_ok = run_bandit()
    audit_ok = run_pip_audit()
    if bandit_ok and audit_ok:
        print("audit passed")
        return 0
    print(
        "audit FAILED: "
        + ", ".join(n for n, ok in (("bandit", bandit_ok), ("pip-audit", audit_ok)) if not ok)
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())

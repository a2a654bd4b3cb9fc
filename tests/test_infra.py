"""infra/: the Terraform for AWS is formatted, parses and declares the deployment; the scripts
parse; nothing secret is committed.

There is no terraform binary here (neither Debian nor PyPI carries one), so the format
check uses HashiCorp's HCL formatter and parser compiled to WebAssembly (npm packages
@cdktf/hcl-tools and @cdktf/hcl2json, installed by ``make test`` into var/node).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AWS = ROOT / "infra" / "aws"
PREFIX = ROOT / "var" / "node"


def fmt(*args) -> subprocess.CompletedProcess:
    if not shutil.which("node") or not (PREFIX / "node_modules" / "@cdktf" / "hcl-tools").exists():
        pytest.fail("node or the HCL tools are missing: run `make hcl-tools` (make test does)")
    return subprocess.run(["node", str(AWS / "tools" / "fmt.mjs"), *map(str, args)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "HCL_TOOLS_PREFIX": str(PREFIX)})


@pytest.fixture(scope="module")
def config() -> dict:
    """Every .tf file's blocks merged: {"resource": {type: {name: body}}, "variable": {...}, ...}."""
    done = fmt("--json", AWS)
    assert done.returncode == 0, done.stderr
    merged: dict = {}
    for parsed in json.loads(done.stdout).values():
        for kind, blocks in parsed.items():
            if not isinstance(blocks, dict):  # locals and terraform: not looked at here
                continue
            for key, value in blocks.items():
                if kind in ("resource", "data"):
                    for name, body in value.items():
                        merged.setdefault(kind, {}).setdefault(key, {})[name] = body[0]
                elif isinstance(value, list):
                    merged.setdefault(kind, {})[key] = value[0]
    return merged


def test_terraform_is_formatted_and_parses():
    done = fmt(AWS)
    assert done.returncode == 0, done.stderr


def test_the_format_check_catches_mistakes(tmp_path):
    shutil.copy(AWS / "variables.tf", tmp_path)
    text = (tmp_path / "variables.tf").read_text()
    (tmp_path / "variables.tf").write_text(text.replace('  type        = string', '  type = string', 1))
    unformatted = fmt(tmp_path)
    assert unformatted.returncode == 3 and "variables.tf:" in unformatted.stderr
    (tmp_path / "variables.tf").write_text(text + '\nvariable "broken" {\n  type =\n')
    broken = fmt(tmp_path)
    assert broken.returncode == 1 and "does not parse" in broken.stderr


def test_the_deployment_has_its_parts(config):
    resources = config["resource"]
    for kind in ("aws_s3_bucket", "aws_db_instance", "aws_instance", "aws_scheduler_schedule",
                 "aws_efs_file_system", "aws_iam_role"):
        assert kind in resources, kind

    db = resources["aws_db_instance"]["store"]
    assert db["engine"] == "postgres" and db["manage_master_user_password"] is True
    assert db["publicly_accessible"] is False and "password" not in db
    version = config["variable"]["postgres_version"]
    assert int(version["default"]) >= 16 and ">= 16" in version["validation"][0]["condition"]

    schedule = resources["aws_scheduler_schedule"]["reprocess"]
    assert schedule["target"][0]["arn"].endswith(":scheduler:::aws-sdk:emr:runJobFlow")
    assert config["variable"]["reprocess_schedule"]["default"] == "cron(0 3 * * ? *)"  # daily

    emr = (AWS / "emr.tf").read_text()
    assert '"batch.jobs.reprocess"' in emr and "command-runner.jar" in emr and "reprocess-step.sh" in emr
    for size in ("emr_core_instance_type", "emr_core_instance_count", "db_instance_class", "web_instance_type"):
        assert size in config["variable"], size
    for endpoint in ("web_url", "db_endpoint", "bucket", "db_secret_arn"):
        assert endpoint in config["output"], endpoint


def test_the_emr_step_passes_what_its_script_reads():
    emr = (AWS / "emr.tf").read_text()
    args = re.search(r'"bash", "/mnt/fma-app/reprocess-step.sh", (.*?),\n\s*\]', emr, re.S).group(1)
    usage = re.search(r"# Usage: reprocess-step.sh (.*)", (AWS / "emr" / "reprocess-step.sh").read_text()).group(1)
    assert len(args.split(",")) == len(usage.split())


def test_the_scripts_parse():
    scripts = [*AWS.glob("emr/*.sh"), AWS / "web" / "user-data.sh.tftpl",
               ROOT / "infra" / "local" / "scheduled-reprocess.sh"]
    for script in scripts:
        done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, (script, done.stderr)


SECRETS = re.compile(
    r"AKIA[0-9A-Z]{16}"                      # an AWS access key id
    r"|aws_secret_access_key\s*="            # a secret key set in a file
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|password\s*=\s*\"[^\"$]+\""           # a literal password
    r"|postgres(ql)?://[^:/\s]+:[^@\s$]+@",  # a URL with a password in it
    re.I)


def test_no_secrets_in_infra():
    files = [p for p in (ROOT / "infra").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) > 10
    found = [(p, m.group(0)) for p in files for m in SECRETS.finditer(p.read_text(errors="replace"))]
    assert found == []
    assert SECRETS.search('password = "hunter2"') and SECRETS.search("postgresql://u:pw@db/x")


def test_terraform_fmt_check_passes_where_terraform_is_installed(tmp_path):
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("no terraform binary here (neither Debian nor PyPI carries one); "
                    "test_terraform_is_formatted_and_parses checked with HashiCorp's formatter")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"}  # no phoning home

    def check(folder):
        return subprocess.run([terraform, "fmt", "-check", "-diff", "-recursive", str(folder)],
                              capture_output=True, text=True, timeout=120, env=env)

    done = check(AWS)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (AWS / "variables.tf").read_text()
    (tmp_path / "variables.tf").write_text(text.replace("  type        = string", "  type = string", 1))
    assert check(tmp_path).returncode != 0  # and it does notice a misformatted file

"""spark-submit's main file for every job: ``spark-submit ... infra/spark_entry.py MODULE ARGS``.

spark-submit runs a file, not a module. This runs ``python -m MODULE ARGS`` from the
checkout this file sits in, so the driver reads ``sql/`` and writes outputs there; the
executors import the same code from the ``--py-files`` zip.
"""

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: spark-submit [options] infra/spark_entry.py MODULE [ARGS...]")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    module = sys.argv.pop(1)
    sys.argv[0] = module
    runpy.run_module(module, run_name="__main__", alter_sys=True)

"""Kernel start-up stays short: importing the notebooks' modules does not compile jsonschema's IRI grammar."""

import subprocess
import sys

CHECK = """
import sys
from spendsense import pipeline, viz  # what every notebook imports first
import nbformat
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
nbformat.validate(nb)  # notebook validation (jsonschema) still works
print(sys.modules.get("rfc3987_syntax") is None)
"""


def test_notebook_imports_skip_the_iri_grammar():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"

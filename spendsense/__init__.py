"""SpendSense."""

import sys

# plotly.io imports nbformat, which imports jsonschema, which compiles an IRI grammar from `rfc3987_syntax` at
# import time: 1.5 s or more in every notebook kernel, for a format check SpendSense never uses. Declining that
# one optional module (jsonschema then skips only the "iri" format) keeps kernel start-up short.
sys.modules.setdefault("rfc3987_syntax", None)

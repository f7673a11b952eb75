"""Building a council's schema."""

from tenants.models import Council
from tenants.schema_names import validate_schema_name


def provision_schema(council: Council) -> None:
    """Create the council's schema and bring it to the current release. Safe to repeat."""
    validate_schema_name(council.schema_name)
    # django-tenants creates the schema if missing and runs the tenant apps' migrations,
    # skipping those already applied, so a retry after a crash finishes the job.
    council.create_schema(check_if_exists=True, verbosity=0)

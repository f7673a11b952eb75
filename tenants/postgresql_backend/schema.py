"""The schema editor: a new column's constraints added by name, after the column.

Citus refuses `ALTER TABLE ... ADD COLUMN` with a constraint in it ("all constraints in Citus
must have explicit names"), which is how Django adds a unique, foreign-key or check column
(PositiveIntegerField, ForeignKey...). Here the column is added bare and each constraint then
by its own named `ADD CONSTRAINT`: the same table on plain PostgreSQL, accepted by Citus in a
council's distributed schema too.
"""

from django.db.backends.postgresql.schema import DatabaseSchemaEditor
from django.db.models import Field, Model


class SchemaEditor(DatabaseSchemaEditor):
    # No inline REFERENCES: Django then adds the key by name once the column exists.
    sql_create_column_inline_fk = None

    _adding_bare_column = False

    def add_field(self, model: type[Model], field: Field) -> None:
        check = field.db_parameters(connection=self.connection)["check"]
        unique = field.unique and not field.primary_key
        if field.many_to_many or not (check or unique):
            super().add_field(model, field)
            return
        self._adding_bare_column = True
        self.sql_check_constraint = ""  # the instance's, for this column only
        try:
            super().add_field(model, field)
        finally:
            self._adding_bare_column = False
            del self.sql_check_constraint
        table = model._meta.db_table
        if check:
            name = self._create_index_name(table, [field.column], suffix="_check")
            self.execute(self._create_check_sql(model, name, check))
        if unique:
            self.execute(self._create_unique_sql(model, [field]))

    def _iter_column_sql(self, *args: object, **kwargs: object):
        for part in super()._iter_column_sql(*args, **kwargs):
            if not (self._adding_bare_column and part == "UNIQUE"):
                yield part

"""SQL scripts sent one statement at a time.

Citus forwards a DDL command (CREATE FUNCTION, CREATE TRIGGER...) to the nodes as the text it
was given, and a node refuses a text holding several commands ("cannot insert multiple commands
into a prepared statement"). So a migration's script is split into its statements (sqlparse
knows dollar-quoted function bodies), which Django's RunSQL then runs one by one; plain
PostgreSQL runs the same statements the same way.
"""

import sqlparse


def one_statement_each(script: str) -> list[str]:
    return [statement for statement in sqlparse.split(script) if statement.strip(" \n;")]

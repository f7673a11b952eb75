"""Every payer's name a council's receipts carry, once each, kept by a trigger (migration
0036), so that a search by any part of a name first finds the few names that hold it and then
each name's receipts, newest first, from one index.

A fragment looked up in the receipts themselves (a trigram index over five million names)
found every matching receipt and read each one from the table to sort them by date: 27 ms for
a name with 7,440 receipts, most of it reading rows. A council has far fewer payers than
receipts (people pay again and again), and each name's receipts sit side by side in the
index on (payer_name, received_on, id).
"""

from django.db import models


class PayerName(models.Model):
    name = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return self.name

from django.apps import AppConfig


class IncomeConfig(AppConfig):
    name = "income"
    verbose_name = "Income"

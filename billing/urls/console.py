from django.urls import path

from billing.views import cost_statement, operator

app_name = "billing-console"
urlpatterns = [
    path("", operator.accounts, name="accounts"),
    path("accounts/<int:pk>/population/", operator.set_account_population, name="population"),
    path("prices/", operator.price_book, name="price-book"),
    path("prices/add/", operator.add_price, name="add-price"),
    path("statement/", cost_statement.platform_statement, name="statement"),
    path("statement/costs/", cost_statement.add_cost, name="add-cost"),
    path("statement/costs/upload/", cost_statement.upload_costs, name="upload-costs"),
    path("statement/formula/", cost_statement.set_formula, name="set-formula"),
    path(
        "statement/settle/<int:council_pk>/<int:year>/",
        cost_statement.settle,
        name="settle-true-up",
    ),
]

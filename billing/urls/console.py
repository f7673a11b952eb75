from django.urls import path

from billing.views import operator

app_name = "billing-console"
urlpatterns = [
    path("", operator.accounts, name="accounts"),
    path("accounts/<int:pk>/population/", operator.set_account_population, name="population"),
    path("prices/", operator.price_book, name="price-book"),
    path("prices/add/", operator.add_price, name="add-price"),
]

from django.urls import include, path

from income.views import home, receipts

app_name = "income"
urlpatterns = [
    path("", home.council_home, name="home"),
    path("receipts/new/", receipts.take_payment, name="take-payment"),
    path("receipts/<str:number>/", receipts.receipt_detail, name="receipt"),
    path("config/reference-rules/", include("income.urls_reference_rules")),
]

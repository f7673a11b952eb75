from django.urls import include, path

from income.views import home, receipts, refunds, suspense

app_name = "income"
urlpatterns = [
    path("", home.council_home, name="home"),
    path("receipts/new/", receipts.take_payment, name="take-payment"),
    path("receipts/<str:number>/", receipts.receipt_detail, name="receipt"),
    path("receipts/<str:number>/refund/", refunds.raise_for_receipt, name="refund-raise"),
    path("suspense/", suspense.worklist, name="suspense"),
    path("suspense/<str:number>/", suspense.allocate, name="suspense-allocate"),
    path("refunds/", refunds.refund_list, name="refunds"),
    path("refunds/<int:pk>/", refunds.refund_detail, name="refund"),
    path("config/reference-rules/", include("income.urls_reference_rules")),
]

from django.urls import path

from income.views import (
    cash_up,
    config,
    govuk_pay,
    govuk_pay_settings,
    home,
    receipts,
    refunds,
    suspense,
    transfers,
)

app_name = "income"
urlpatterns = [
    path("", home.council_home, name="home"),
    path("receipts/", receipts.receipt_search, name="receipts"),
    path("receipts/new/", receipts.take_payment, name="take-payment"),
    path("receipts/<str:number>/", receipts.receipt_detail, name="receipt"),
    path("receipts/<str:number>/refund/", refunds.raise_for_receipt, name="refund-raise"),
    path("receipts/<str:number>/transfer/", transfers.transfer, name="transfer"),
    path("journals/<int:pk>/reverse/", transfers.reverse, name="journal-reverse"),
    path("suspense/", suspense.worklist, name="suspense"),
    path("suspense/<str:number>/", suspense.allocate, name="suspense-allocate"),
    path("refunds/", refunds.refund_list, name="refunds"),
    path("refunds/<int:pk>/", refunds.refund_detail, name="refund"),
    path("cash-ups/", cash_up.cash_up_list, name="cash-ups"),
    path("cash-ups/new/", cash_up.submit, name="cash-up-submit"),
    path("cash-ups/<int:pk>/", cash_up.detail, name="cash-up"),
    path("govuk-pay/webhook/", govuk_pay.webhook, name="govuk-pay-webhook"),
    path(
        "govuk-pay/settings/",
        govuk_pay_settings.connection_settings,
        name="govuk-pay-settings",
    ),
    path("govuk-pay/settings/<int:pk>/test/", govuk_pay_settings.test, name="govuk-pay-test"),
    path("govuk-pay/settings/check/", govuk_pay_settings.mop_up_now, name="govuk-pay-mop-up"),
    path("config/", config.index, name="config"),
    path("config/<slug:slug>/", config.object_list, name="config-list"),
    path("config/<slug:slug>/new/", config.edit, name="config-create"),
    path("config/<slug:slug>/import/", config.import_file, name="config-import"),
    path("config/<slug:slug>/<int:pk>/", config.edit, name="config-edit"),
    path("config/<slug:slug>/<int:pk>/enabled/", config.toggle, name="config-toggle"),
]

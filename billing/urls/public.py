from django.urls import path

from billing.views import webhook

urlpatterns = [path("stripe/webhook/", webhook.stripe_webhook, name="stripe-webhook")]

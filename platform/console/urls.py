from django.urls import path

from console.views import applications, council_nodes, councils, lifecycle

app_name = "console"
urlpatterns = [
    path("", councils.council_list, name="councils"),
    path("applications/", applications.application_list, name="applications"),
    path("applications/<int:pk>/", applications.application_detail, name="application"),
    path("applications/<int:pk>/approve/", applications.approve, name="application-approve"),
    path("applications/<int:pk>/decline/", applications.decline, name="application-decline"),
]
urlpatterns += [
    path("councils/<int:pk>/", councils.council_detail, name="council"),
    path("audit/", councils.audit_log, name="audit"),
]
urlpatterns += [
    path("councils/<int:pk>/suspend/", lifecycle.suspend, name="council-suspend"),
    path("councils/<int:pk>/reactivate/", lifecycle.reactivate, name="council-reactivate"),
    path("councils/<int:pk>/close/", lifecycle.close, name="council-close"),
    path("councils/<int:pk>/drop/", lifecycle.drop, name="council-drop"),
]
urlpatterns += [
    path(
        "councils/<int:pk>/domains/<int:domain_pk>/confirm/",
        lifecycle.confirm_domain,
        name="council-domain-confirm",
    ),
]
urlpatterns += [
    path("councils/<int:pk>/archive/", lifecycle.retry_archive, name="council-archive"),
]
urlpatterns += [
    path("nodes/", council_nodes.council_nodes, name="council-nodes"),
    path("nodes/<int:pk>/move/", council_nodes.move, name="council-move"),
]

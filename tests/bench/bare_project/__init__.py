"""The reference for request benchmarks: what `django-admin startproject` gives, and one view."""

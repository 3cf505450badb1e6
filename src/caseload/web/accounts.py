"""Sign-in (with a one-time code for the roles that need one), sign-out and password change:
Django's auth views with the app's templates. Failed sign-ins are throttled by django-axes."""

from __future__ import annotations

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.urls import path, reverse_lazy

from caseload.core.errors import UsageError
from caseload.core.users import check_sign_in_code, mfa_required


class SignInForm(AuthenticationForm):
    otp_token = forms.CharField(label="Authentication code", required=False, max_length=12,
                                widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
                                help_text="Required for administrators and auditors: the six digits from your authenticator app.")

    def clean(self):
        cleaned = super().clean()
        self.otp_device = None
        user = self.get_user()
        if user is not None and mfa_required(user):
            try:
                self.otp_device = check_sign_in_code(user, self.cleaned_data.get("otp_token", ""))
            except UsageError as exc:
                raise ValidationError(exc.message, code=exc.code) from None
        return cleaned


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.otp_device is not None:
            from django_otp import login as otp_login

            otp_login(self.request, form.otp_device)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["mfa_required_notice"] = self.request.GET.get("mfa") == "required"
        return context


urlpatterns = [
    path("login/", login_not_required(SignInView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("password_change_done")),
         name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

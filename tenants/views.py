from django.shortcuts import render

from .models import Tenant


def tenant_list(request):
    return render(request, "tenants/list.html", {"tenants": Tenant.objects.all()})

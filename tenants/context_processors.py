def tenant_picker(request):
    return {}

# Hand-written from `makemigrations sandbox --dry-run -v 3` (helper E: compromise research sources).

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0007_user_manager"),
    ]

    operations = [
        migrations.CreateModel(
            name="SandboxAppRoleAssignment",
            fields=[
                ("id", models.CharField(max_length=80, primary_key=True, serialize=False)),
                ("app_role_id", models.UUIDField()),
                ("created_datetime", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "principal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="app_role_assignments",
                        to="sandbox.sandboxuser",
                    ),
                ),
                (
                    "resource",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="app_role_assignments",
                        to="sandbox.sandboxserviceprincipal",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="SandboxOAuth2PermissionGrant",
            fields=[
                ("id", models.CharField(max_length=80, primary_key=True, serialize=False)),
                ("consent_type", models.CharField(default="Principal", max_length=16)),
                ("scope", models.TextField(blank=True, default="")),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="grants_as_client",
                        to="sandbox.sandboxserviceprincipal",
                    ),
                ),
                (
                    "principal",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="oauth2_grants",
                        to="sandbox.sandboxuser",
                    ),
                ),
                (
                    "resource",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="grants_as_resource",
                        to="sandbox.sandboxserviceprincipal",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="oauth2_grants",
                        to="sandbox.sandboxtenant",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="SandboxRiskyUser",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("risk_level", models.CharField(default="none", max_length=16)),
                ("risk_state", models.CharField(default="none", max_length=32)),
                ("risk_detail", models.CharField(default="none", max_length=64)),
                ("risk_last_updated", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="risk",
                        to="sandbox.sandboxuser",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="SandboxServicePrincipalDetail",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("properties", models.JSONField(default=dict)),
                (
                    "service_principal",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="detail",
                        to="sandbox.sandboxserviceprincipal",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="SandboxDirectoryAudit",
            fields=[
                ("id", models.CharField(max_length=80, primary_key=True, serialize=False)),
                ("activity_datetime", models.DateTimeField()),
                ("activity_display_name", models.CharField(max_length=256)),
                ("category", models.CharField(blank=True, default="", max_length=64)),
                ("initiated_by_user_id", models.CharField(blank=True, default="", max_length=64)),
                ("initiated_by_upn", models.CharField(blank=True, default="", max_length=255)),
                ("target_ids", models.TextField(blank=True, default="")),
                ("properties", models.JSONField(default=dict)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="directory_audits",
                        to="sandbox.sandboxtenant",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["tenant", "-activity_datetime", "id"], name="sandbox_san_tenant__86cf28_idx"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SandboxMessageTrace",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("message_trace_id", models.UUIDField(default=uuid.uuid4)),
                ("received", models.DateTimeField()),
                ("sender_address", models.CharField(max_length=320)),
                ("recipient_address", models.CharField(max_length=320)),
                ("subject", models.CharField(blank=True, default="", max_length=512)),
                ("status", models.CharField(default="Delivered", max_length=32)),
                ("from_ip", models.CharField(blank=True, default="", max_length=64)),
                ("to_ip", models.CharField(blank=True, default="", max_length=64)),
                ("size", models.PositiveIntegerField(default=0)),
                ("message_id", models.CharField(blank=True, default="", max_length=256)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="message_traces",
                        to="sandbox.sandboxtenant",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["tenant", "sender_address", "-received"],
                        name="sandbox_san_tenant__122b35_idx",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SandboxUnifiedAuditRecord",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, primary_key=True, serialize=False)),
                ("creation_date", models.DateTimeField()),
                ("record_type", models.CharField(max_length=64)),
                ("operation", models.CharField(max_length=128)),
                ("user_id", models.CharField(max_length=255)),
                ("object_id", models.CharField(blank=True, default="", max_length=512)),
                ("audit_data", models.JSONField(default=dict)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="unified_audit_records",
                        to="sandbox.sandboxtenant",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["tenant", "creation_date"], name="sandbox_san_tenant__f010de_idx")
                ],
            },
        ),
    ]

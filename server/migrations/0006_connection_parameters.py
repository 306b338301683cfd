import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# Per-connection parameters (issue #14): a Shopify shop, a Zendesk subdomain, Salesforce's
# instance_url. Existing connections and sessions get {} (no parameters) from the column's
# database default: a NOT NULL column cannot be added to a table with rows without one.
# Follows 0005_custom_integrations (branch h-custom), written at the same time.


def _json(**extra):
    return fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads, **extra)


class Migration(migrations.Migration):
    dependencies = [('weir', '0005_custom_integrations')]

    initial = False

    operations = [
        ops.AddField(model_name='Connection', name='parameters', field=_json(default=dict, db_default={})),
        ops.AddField(model_name='ConnectSession', name='parameters', field=_json(default=dict, db_default={})),
        ops.AddField(model_name='ConnectSession', name='oauth_parameters', field=_json(null=True)),
    ]

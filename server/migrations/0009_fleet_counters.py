from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Counters shared by every process, for /metrics (server/counters.py): runs by outcome, rows,
# run durations and token refreshes, added to where they happen and read by the API.


class Migration(migrations.Migration):
    dependencies = [('weir', '0008_health_deletes_audit')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FleetCounter',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('name', fields.CharField(max_length=100)),
                ('labels', fields.TextField(unique=False)),
                ('value', fields.FloatField(default=0)),
            ],
            options={'table': 'fleet_counters', 'app': 'weir', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]

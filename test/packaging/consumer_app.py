"""The Python consumer app of the packaging test: README's "Use" example in Python, as a user
writes it. Runs inside the temporary consumer folder (python-consumer.js) and writes cdk.out/."""
from aws_cdk import App, Size, Stack
from aws_cdk import aws_s3 as s3
from cdk_glacier_vault_to_s3 import DestinationStorageClass, GlacierVaultToS3Transfer

app = App(outdir="cdk.out")
stack = Stack(app, "GlacierMigration")

GlacierVaultToS3Transfer(
    stack,
    "Transfer",
    # An existing bucket: the transfer never creates or deletes your data bucket.
    destination_bucket=s3.Bucket.from_bucket_name(stack, "Destination", "my-archive-bucket"),
    destination_prefix="from-glacier",
    storage_class=DestinationStorageClass.DEEP_ARCHIVE,
    allowed_vault_names=["photos", "backups-2012"],
    daily_quota=Size.tebibytes(100),
)

app.synth()

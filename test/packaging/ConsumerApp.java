// The Java consumer app of the packaging test: README's "Use" example in Java, as a user writes it.
// java-consumer.js copies it into a fresh Maven project and runs it there; it writes cdk.out/.
package consumer;

import io.github.example.cdk.glaciervaulttos3.DestinationStorageClass;
import io.github.example.cdk.glaciervaulttos3.GlacierVaultToS3Transfer;
import java.util.List;
import software.amazon.awscdk.App;
import software.amazon.awscdk.AppProps;
import software.amazon.awscdk.Size;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.services.s3.Bucket;

public final class ConsumerApp {
    public static void main(final String[] args) {
        App app = new App(AppProps.builder().outdir("cdk.out").build());
        Stack stack = new Stack(app, "GlacierMigration");

        GlacierVaultToS3Transfer.Builder.create(stack, "Transfer")
                // An existing bucket: the transfer never creates or deletes your data bucket.
                .destinationBucket(Bucket.fromBucketName(stack, "Destination", "my-archive-bucket"))
                .destinationPrefix("from-glacier")
                .storageClass(DestinationStorageClass.DEEP_ARCHIVE)
                .allowedVaultNames(List.of("photos", "backups-2012"))
                .dailyQuota(Size.tebibytes(100))
                .build();

        app.synth();
    }
}

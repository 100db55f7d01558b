// The Go consumer app of the packaging test: README's "Use" example in Go, as a user writes it.
// go-consumer.js copies it into a fresh Go module as main.go, builds and runs it; it writes cdk.out/.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/example/cdk-glacier-vault-to-s3-go/cdkglaciervaulttos3"
)

func main() {
	// Stops the jsii kernel (a node child process) when the app is done.
	defer jsii.Close()

	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String("cdk.out")})
	stack := awscdk.NewStack(app, jsii.String("GlacierMigration"), nil)

	cdkglaciervaulttos3.NewGlacierVaultToS3Transfer(stack, jsii.String("Transfer"), &cdkglaciervaulttos3.GlacierVaultToS3TransferProps{
		// An existing bucket: the transfer never creates or deletes your data bucket.
		DestinationBucket: awss3.Bucket_FromBucketName(stack, jsii.String("Destination"), jsii.String("my-archive-bucket")),
		DestinationPrefix: jsii.String("from-glacier"),
		StorageClass:      cdkglaciervaulttos3.DestinationStorageClass_DEEP_ARCHIVE,
		AllowedVaultNames: jsii.Strings("photos", "backups-2012"),
		DailyQuota:        awscdk.Size_Tebibytes(jsii.Number(100)),
	})

	app.Synth(nil)
}

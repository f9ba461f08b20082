package faults_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/pivotapp/platform/internal/localstack/faults"
)

// S3 speaks REST-XML: a throttle in the query protocol's ErrorResponse
// reached the S3 client as a 400 "BadRequest" it does not retry. The
// injector answers S3 as S3 does (503 SlowDown), which the SDK retries.
func TestS3ThrottleIsS3sOwn(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer upstream.Close()
	s, err := faults.Start(upstream.URL, faults.Config{ThrottleShare: 0.999999})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:     retry.AddWithMaxAttempts(retry.NewStandard(), 1),
	})
	_, err = client.GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String("b")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SlowDown" {
		t.Fatalf("error = %v, want S3's SlowDown", err)
	}
	if !retry.NewStandard().IsErrorRetryable(err) {
		t.Fatalf("the SDK does not retry %v", err)
	}
}

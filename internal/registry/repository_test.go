package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/registry"
	"github.com/pivotapp/platform/internal/release"
)

func TestMain(m *testing.M) { acctest.Main(m) }

// The lifecycle policy never expires an image a release record names: the
// records are written and read back as the roots do, the policy is built
// from them, and ECR's documented evaluation runs over a repository where
// the released images are the oldest of many.
func TestLifecycleKeepsReleasedImages(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	ctx := context.Background()
	store := release.NewStore(cfg)
	for name, tag := range map[string]string{"staging": "sha-staging", "prod": "sha-prod"} {
		if _, err := store.Put(ctx, release.Record{Name: name, Images: map[string]string{"messenger": tag, "friend": "other-" + name}}); err != nil {
			t.Fatal(err)
		}
	}
	var records []map[string]string
	for _, name := range []string{"staging", "prod"} {
		r, err := store.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, r.Images)
	}
	keep := registry.ReleaseTags("messenger", records...)
	if !slices.Equal(keep, []string{"sha-prod", "sha-staging"}) {
		t.Fatalf("release tags of messenger = %v", keep)
	}
	policy, err := registry.NewLifecyclePolicy(keep, 5, 7)
	if err != nil {
		t.Fatal(err)
	}

	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	// 40 days of pushes, newest last: prod's release 40 days old, staging's
	// 30, an untagged image 20, and 37 newer builds.
	var images []registry.Image
	for i := range 40 {
		img := registry.Image{Digest: fmt.Sprintf("sha256:%02d", i), Tags: []string{fmt.Sprintf("build-%02d", i)}, PushedAt: now.Add(-time.Duration(40-i) * 24 * time.Hour)}
		switch i {
		case 0:
			img.Tags = []string{"sha-prod"}
		case 10:
			img.Tags = []string{"sha-staging", "latest-staging"}
		case 20:
			img.Tags = nil
		}
		images = append(images, img)
	}
	expired := policy.Expired(images, now)
	for _, d := range []string{"sha256:00", "sha256:10"} {
		if slices.Contains(expired, d) {
			t.Fatalf("released image %s expired; policy %s", d, policy.JSON())
		}
	}
	// Everything else but the newest five goes, the untagged image included.
	if len(expired) != 40-2-5 || !slices.Contains(expired, "sha256:20") || slices.Contains(expired, "sha256:39") {
		t.Fatalf("expired %d images: %v", len(expired), expired)
	}

	// Without the keep rules the same repository loses the releases: the
	// check above is not vacuous.
	bare, _ := registry.NewLifecyclePolicy(nil, 5, 7)
	if got := bare.Expired(images, now); !slices.Contains(got, "sha256:00") || !slices.Contains(got, "sha256:10") {
		t.Fatalf("without keep rules the releases survive too: %v", got)
	}
	// One rule per tag: a single rule listing both would select only
	// images carrying both tags (ECR ANDs a pattern list).
	if n := len(policy.Rules); n != 4 {
		t.Fatalf("%d rules, want one per kept tag plus two", n)
	}
}

func TestLifecyclePolicyLimits(t *testing.T) {
	many := make([]string, registry.MaxLifecycleRules-1)
	for i := range many {
		many[i] = fmt.Sprintf("t%d", i)
	}
	if _, err := registry.NewLifecyclePolicy(many, 5, 7); err == nil {
		t.Fatal("a policy over ECR's 50 rules was accepted")
	}
	if _, err := registry.NewLifecyclePolicy([]string{"v*"}, 5, 7); err == nil {
		t.Fatal("a wildcard kept tag was accepted")
	}
	if _, err := registry.NewLifecyclePolicy(nil, 0, 7); err == nil {
		t.Fatal("keep_last 0 was accepted")
	}
}

func TestEnsureRepository(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	ctx := context.Background()
	c := registry.New(cfg)
	spec := registry.RepositorySpec{Name: "messenger", Service: "messenger", ScanOnPush: true, KeepTags: []string{"sha-prod"}, KeepLast: 30, UntaggedDays: 7,
		PullAccounts: []string{"222222222222", "111111111111"}}
	r, err := c.EnsureRepository(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !r.ScanOnPush || r.MutableTags || !slices.Equal(r.PullAccounts, []string{"111111111111", "222222222222"}) || r.Tags[registry.ManagedByKey] != registry.ManagedByValue {
		t.Fatalf("repository = %+v", r)
	}
	lp, err := registry.ParseLifecyclePolicy(r.LifecyclePolicy)
	if err != nil || !slices.Equal(lp.KeptTags(), []string{"sha-prod"}) {
		t.Fatalf("lifecycle policy %s: %v", r.LifecyclePolicy, err)
	}
	// Again (an apply after an interrupted one): adopted and updated.
	spec.KeepTags = []string{"sha-prod", "sha-staging"}
	spec.PullAccounts = []string{"111111111111"}
	if r, err = c.EnsureRepository(ctx, spec); err != nil {
		t.Fatal(err)
	}
	lp, _ = registry.ParseLifecyclePolicy(r.LifecyclePolicy)
	if !slices.Equal(lp.KeptTags(), []string{"sha-prod", "sha-staging"}) || !slices.Equal(r.PullAccounts, []string{"111111111111"}) {
		t.Fatalf("after update: %+v", r)
	}
	// A repository pivot did not create is refused.
	if _, err := ecr.NewFromConfig(cfg).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("handmade")}); err != nil {
		t.Fatal(err)
	}
	other := spec
	other.Name = "handmade"
	if _, err := c.EnsureRepository(ctx, other); !errors.Is(err, registry.ErrNotOurs) {
		t.Fatalf("ensure on a handmade repository: %v", err)
	}
	if err := c.DeleteRepository(ctx, "messenger", true); err != nil {
		t.Fatal(err)
	}
	if r, err := c.ReadRepository(ctx, "messenger"); err != nil || r != nil {
		t.Fatalf("after delete: %+v, %v", r, err)
	}
}

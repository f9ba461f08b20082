package awsx

import (
	"fmt"
	"regexp"
	"sort"
	"unicode/utf8"
)

// Tag limits shared by the services the provider tags (ECS, IAM,
// CloudWatch Logs, EC2, ELB, RDS): at most 50 tags per resource, keys of
// 1 to 128 characters, values of up to 256, and IAM's character set (the
// strictest: letters, digits, spaces and _ . : / = + - @). IAM refuses the
// rest only at apply, after the log group was made; checked at plan.
const (
	MaxTags           = 50
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
)

var tagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// ValidateTags checks user tags against AWS's limits, leaving room for the
// managed tags the provider adds itself. Each problem names the key.
func ValidateTags(tags map[string]string, managed int) []error {
	var errs []error
	if n := len(tags) + managed; n > MaxTags {
		errs = append(errs, fmt.Errorf("%d tags, and the provider adds %d of its own: AWS allows %d per resource; remove %d", len(tags), managed, MaxTags, n-MaxTags))
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := tags[k]
		switch n := utf8.RuneCountInString(k); {
		case n == 0:
			errs = append(errs, fmt.Errorf("a tag key is empty; keys need 1 to %d characters", MaxTagKeyLength))
		case n > MaxTagKeyLength:
			errs = append(errs, fmt.Errorf("tag key %.20q... has %d characters; AWS allows %d", k, n, MaxTagKeyLength))
		}
		if n := utf8.RuneCountInString(v); n > MaxTagValueLength {
			errs = append(errs, fmt.Errorf("the value of tag %q has %d characters; AWS allows %d", k, n, MaxTagValueLength))
		}
		if !tagChars.MatchString(k) || !tagChars.MatchString(v) {
			errs = append(errs, fmt.Errorf("tag %q: keys and values may hold only letters, digits, spaces and _ . : / = + - @ (IAM refuses others)", k))
		}
	}
	return errs
}

var (
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipAddress  = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
	regionName = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$`)
)

// ValidateBucketName checks S3's general purpose bucket naming rules: 3 to
// 63 lowercase letters, digits, dots and hyphens, starting and ending with
// a letter or digit, no two adjacent dots, not an IP address, none of the
// reserved prefixes and suffixes.
func ValidateBucketName(name string) error {
	switch {
	case !bucketName.MatchString(name):
		return fmt.Errorf("bucket name %q: use 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit", name)
	case regexp.MustCompile(`\.\.|\.-|-\.`).MatchString(name):
		return fmt.Errorf("bucket name %q: no two adjacent dots, and no dot next to a hyphen", name)
	case ipAddress.MatchString(name):
		return fmt.Errorf("bucket name %q: must not look like an IP address", name)
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if len(name) >= len(p) && name[:len(p)] == p {
			return fmt.Errorf("bucket name %q: the prefix %q is reserved by S3", name, p)
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if len(name) >= len(sfx) && name[len(name)-len(sfx):] == sfx {
			return fmt.Errorf("bucket name %q: the suffix %q is reserved by S3", name, sfx)
		}
	}
	return nil
}

// ValidateRegion checks that a region looks like an AWS region code
// (us-east-1, eu-central-2, us-gov-west-1); a typo otherwise surfaces as a
// DNS failure of the first call.
func ValidateRegion(region string) error {
	if !regionName.MatchString(region) {
		return fmt.Errorf("%q is not an AWS region code (such as us-east-1 or eu-west-2)", region)
	}
	return nil
}

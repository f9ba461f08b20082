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
